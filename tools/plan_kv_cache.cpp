// `ghtier plan kv-cache`: parsing and the run (see plan_kv_cache.hpp).
#include "plan_kv_cache.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "cli_options.hpp"
#include "exit_status.hpp"
#include "ghtier/error.hpp"
#include "plan_flags.hpp"

namespace ghtier::tools {

namespace {

std::size_t parse_count(std::string_view text, std::string_view flag) {
  std::size_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value == 0 || value > (std::size_t{1} << 40)) {
    throw UsageError(fmt::format("{} expects a positive whole number, got '{}'", flag, text));
  }
  return value;
}

std::vector<std::size_t> parse_token_list(std::string_view text) {
  std::vector<std::size_t> tokens;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    tokens.push_back(parse_count(text.substr(start, comma - start), "--tokens"));
    start = comma + 1;
  }
  return tokens;
}

}  // namespace

PlanKvCacheOptions parse_plan_kv_cache(std::span<const std::string_view> args) {
  PlanKvCacheOptions options;
  const SeenFlags seen =
      parse_plan_flags(args, "kv-cache", common_targets(options), [&](std::string_view flag, std::string_view value) {
        if (flag == "--tokens") {
          options.tokens = parse_token_list(value);
        } else if (flag == "--cached-percent") {
          options.cached_percent = parse_plan_number(value, flag, true);
          if (options.cached_percent > 100) {
            throw UsageError(fmt::format("--cached-percent expects 0 to 100, got '{}'", value));
          }
        } else if (flag == "--tier") {
          if (value == "host")
            options.tier = KvTier::host;
          else if (value == "file")
            options.tier = KvTier::file;
          else
            throw UsageError(fmt::format("--tier expects host or file, got '{}'", value));
        } else if (flag == "--file-gbps") {
          options.file_gbps = parse_plan_number(value, flag, false);
        } else if (flag == "--prefill-tokens-per-s") {
          options.prefill_tokens_per_second = parse_plan_number(value, flag, false);
        } else if (flag == "--block-tokens") {
          options.shape.tokens_per_block = parse_count(value, flag);
        } else if (flag == "--layers") {
          options.shape.layers = parse_count(value, flag);
        } else if (flag == "--kv-heads") {
          options.shape.kv_heads = parse_count(value, flag);
        } else if (flag == "--head-dim") {
          options.shape.head_dim = parse_count(value, flag);
        } else if (flag == "--dtype-bytes") {
          options.shape.dtype_bytes = parse_count(value, flag);
        } else {
          return false;
        }
        return true;
      });
  if (options.tier == KvTier::file && options.file_gbps == 0) {
    throw UsageError("--tier file needs --file-gbps (the file tier's read rate in GB/s)");
  }
  if (options.tier != KvTier::file && seen.contains("--file-gbps")) {
    throw UsageError("--file-gbps applies to --tier file only");
  }
  try {
    options.shape.validate();
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  return options;
}

std::vector<KvResumeRequest> kv_resume_requests(const PlanKvCacheOptions& options) {
  const LinkModel link = plan_link(options.link_file, options.profile);
  std::vector<KvResumeRequest> requests;
  for (const std::size_t tokens : options.tokens) {
    KvResumeRequest r;
    r.shape = options.shape;
    r.context_tokens = tokens;
    r.cached_tokens =
        static_cast<std::size_t>(std::floor(static_cast<double>(tokens) * options.cached_percent / 100.0));
    r.tier = options.tier;
    r.link = link;
    r.prefill_tokens_per_second = options.prefill_tokens_per_second;
    r.file_read_gbps = options.file_gbps;
    requests.push_back(r);
  }
  return requests;
}

int run_plan_kv_cache(const PlanKvCacheOptions& options, std::ostream& out, std::ostream& /*err*/) {
  const std::vector<KvResumeRequest> requests = kv_resume_requests(options);
  std::vector<KvResumePlan> plans;
  for (const KvResumeRequest& r : requests) plans.push_back(plan_kv_resume(r));
  out << (options.json ? kv_plans_to_json(requests, plans) : describe_kv_plans(requests, plans));
  return exit_ok;
}

std::string plan_kv_cache_usage_text() {
  return "Usage: ghtier plan kv-cache [FLAGS]\n"
         "\n"
         "Plans the resume of returning serving sessions: reload each context's KV cache from host memory (or\n"
         "files) or recompute it by a prefill, with the predicted time of each, per context length. No GPU needed.\n"
         "\n"
         "  --profile NAME              the platform's link figures (default pcie-gen5; gh200-c2c, pcie-gen5-hmm)\n"
         "  --link FILE                 a link model saved by `ghtier info --calibrate --save FILE` instead\n"
         "  --tokens N,N,...            context lengths in tokens (default 2048,8192,32768)\n"
         "  --cached-percent P          share of each context that is cached (default 100)\n"
         "  --tier host|file            where the cached blocks are (default host)\n"
         "  --file-gbps G               the file tier's read rate in GB/s (needed with --tier file)\n"
         "  --prefill-tokens-per-s R    the model's prefill rate (default 32768: Llama-3-8B on an H200)\n"
         "  --block-tokens N            tokens a block (default 16)\n"
         "  --layers N --kv-heads N --head-dim N --dtype-bytes N\n"
         "                              the model's KV shape (default Llama-3-8B: 32, 8, 128, 2)\n"
         "  --json                      print the plans as JSON\n";
}

}  // namespace ghtier::tools
