// `ghtier plan kv-cache`: reload vs recompute of returning sessions' KV caches, per context length, on a
// platform profile (or a saved link model). Options, parsing and the run, apart from the other workloads.
#pragma once

#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ghtier/workloads/kv_cache_plan.hpp"

namespace ghtier::tools {

/// `ghtier plan kv-cache [--profile NAME] [--link FILE] [--tokens N,N,...] [--cached-percent P]
/// [--tier host|file] [--file-gbps G] [--prefill-tokens-per-s R] [--block-tokens N] [--layers N]
/// [--kv-heads N] [--head-dim N] [--dtype-bytes N] [--json]`. Defaults: Llama-3-8B shapes in 16-token
/// blocks, contexts of 2048, 8192 and 32768 tokens all cached in host memory, the prefill rate measured on
/// the H200 machine (8192 tokens in 250 ms), profile pcie-gen5 (the PCIe machine).
struct PlanKvCacheOptions {
  std::string profile = "pcie-gen5";
  std::optional<std::string> link_file;  ///< a link model saved by `ghtier info --calibrate --save`
  std::vector<std::size_t> tokens{2048, 8192, 32768};
  double cached_percent = 100;  ///< share of each context that is cached (the leading tokens)
  KvTier tier = KvTier::host;
  double file_gbps = 0;  ///< the file tier's read rate; needed with --tier file
  double prefill_tokens_per_second = 8192 / 0.250;
  KvBlockShape shape = llama3_8b_kv_shape();
  bool json = false;
};

/// Parses the arguments after `plan kv-cache`. Throws UsageError naming the bad argument.
[[nodiscard]] PlanKvCacheOptions parse_plan_kv_cache(std::span<const std::string_view> args);

/// One planner request per context length, as the options describe them. Throws ghtier::Error(io_error /
/// invalid_argument) for a --link file that cannot be read.
[[nodiscard]] std::vector<KvResumeRequest> kv_resume_requests(const PlanKvCacheOptions& options);

/// `ghtier plan kv-cache`: the plans on `out` (text or JSON). Returns an ExitStatus.
int run_plan_kv_cache(const PlanKvCacheOptions& options, std::ostream& out, std::ostream& err);

/// The part of `ghtier help plan` about kv-cache.
[[nodiscard]] std::string plan_kv_cache_usage_text();

}  // namespace ghtier::tools
