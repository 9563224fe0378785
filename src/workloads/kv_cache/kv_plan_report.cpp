// KV resume plans as a person reads them (`ghtier plan kv-cache`) and as JSON (`--json`).
#include <fmt/format.h>

#include "core/support/json_object.hpp"
#include "ghtier/error.hpp"
#include "ghtier/workloads/kv_cache_plan.hpp"

namespace ghtier {

namespace {

constexpr double mib = 1024.0 * 1024.0;

void check_lengths(const std::vector<KvResumeRequest>& requests, const std::vector<KvResumePlan>& plans) {
  if (requests.size() != plans.size()) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("KV plan report: {} requests but {} plans", requests.size(), plans.size()));
  }
}

}  // namespace

std::string describe_kv_plans(const std::vector<KvResumeRequest>& requests, const std::vector<KvResumePlan>& plans) {
  check_lengths(requests, plans);
  if (requests.empty()) return "KV resume plan: no requests\n";
  const KvResumeRequest& first = requests.front();
  const KvBlockShape& s = first.shape;
  std::string out = fmt::format(
      "KV resume plan: {} layers x {} KV heads x {} x {} B, {} tokens a block ({} KiB a block, {} KiB a token);\n"
      "  link h2d {:.1f} GB/s, latency {:.2f} us ({}); prefill {:.0f} tokens/s; cached blocks in the {} tier",
      s.layers, s.kv_heads, s.head_dim, s.dtype_bytes, s.tokens_per_block, s.block_bytes() / 1024,
      s.bytes_per_token() / 1024, first.link.h2d_gbps, first.link.latency_us,
      first.link.source.empty() ? "given" : first.link.source, first.prefill_tokens_per_second, to_string(first.tier));
  if (first.tier == KvTier::file) out += fmt::format(" (read {:.1f} GB/s)", first.file_read_gbps);
  out += "\n\n";
  out += fmt::format("  {:>8} {:>8} {:>10} {:<9} {:>12} {:>12} {:>10} {:>12} {:>12} {:>8}\n", "context", "cached",
                     "KV MiB", "action", "predict ms", "recompute ms", "reload ms", "1st layer ms", "per-block ms",
                     "speedup");
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const KvResumeRequest& r = requests[i];
    const KvResumePlan& p = plans[i];
    out += fmt::format("  {:>8} {:>8} {:>10.1f} {:<9} {:>12.2f} {:>12.2f} {:>10.2f} {:>12.3f} {:>12.2f} {:>7.1f}x\n",
                       r.context_tokens, r.cached_tokens, static_cast<double>(p.reload_bytes) / mib,
                       to_string(p.action), p.predicted_seconds * 1e3, p.recompute_seconds * 1e3,
                       p.reload_seconds * 1e3, p.first_layer_seconds * 1e3, p.per_block_copy_seconds * 1e3, p.speedup);
  }
  out +=
      "\n  reload: one batched copy of whole blocks plus the prefill of uncached tokens; 1st layer: when a\n"
      "  layer-pipelined restore has the first layer on the device; per-block: one copy per block and layer.\n";
  return out;
}

std::string kv_plans_to_json(const std::vector<KvResumeRequest>& requests, const std::vector<KvResumePlan>& plans) {
  check_lengths(requests, plans);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const KvResumeRequest& r = requests[i];
    const KvResumePlan& p = plans[i];
    nlohmann::ordered_json j;
    j["context_tokens"] = static_cast<std::uint64_t>(r.context_tokens);
    j["cached_tokens"] = static_cast<std::uint64_t>(r.cached_tokens);
    j["tier"] = std::string(to_string(r.tier));
    j["block_bytes"] = static_cast<std::uint64_t>(r.shape.block_bytes());
    j["action"] = std::string(to_string(p.action));
    j["predicted_seconds"] = p.predicted_seconds;
    j["reload_seconds"] = p.reload_seconds;
    j["recompute_seconds"] = p.recompute_seconds;
    j["first_layer_seconds"] = p.first_layer_seconds;
    j["per_block_copy_seconds"] = p.per_block_copy_seconds;
    j["reload_bytes"] = static_cast<std::uint64_t>(p.reload_bytes);
    j["prefill_tokens"] = static_cast<std::uint64_t>(p.prefill_tokens);
    j["speedup"] = p.speedup;
    list.push_back(std::move(j));
  }
  nlohmann::ordered_json doc;
  doc["plans"] = std::move(list);
  return detail::dump_json_document(doc);
}

}  // namespace ghtier
