// The KV block shape's arithmetic and the reload-vs-recompute decision for a returning session.
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "ghtier/error.hpp"
#include "ghtier/workloads/kv_cache_plan.hpp"

namespace ghtier {

namespace {

constexpr std::size_t largest_block_bytes = std::size_t{1} << 30;

void require_rate(double value, std::string_view name) {
  if (!std::isfinite(value) || value <= 0) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("plan_kv_resume: {} must be a positive finite number, got {}", name, value));
  }
}

}  // namespace

std::string_view to_string(KvTier tier) noexcept {
  switch (tier) {
    case KvTier::device: return "device";
    case KvTier::host: return "host";
    case KvTier::file: return "file";
    case KvTier::none: return "none";
  }
  return "unknown";
}

std::string_view to_string(KvResumeAction action) noexcept {
  switch (action) {
    case KvResumeAction::resident: return "resident";
    case KvResumeAction::reload: return "reload";
    case KvResumeAction::recompute: return "recompute";
  }
  return "unknown";
}

std::size_t KvBlockShape::bytes_per_token() const noexcept { return 2 * layers * kv_heads * head_dim * dtype_bytes; }

std::size_t KvBlockShape::layer_block_bytes() const noexcept {
  return 2 * tokens_per_block * kv_heads * head_dim * dtype_bytes;
}

std::size_t KvBlockShape::block_bytes() const noexcept { return tokens_per_block * bytes_per_token(); }

std::size_t KvBlockShape::blocks_for(std::size_t tokens) const noexcept {
  return tokens_per_block == 0 ? 0 : (tokens + tokens_per_block - 1) / tokens_per_block;
}

void KvBlockShape::validate() const {
  const std::pair<std::string_view, std::size_t> fields[] = {{"tokens_per_block", tokens_per_block},
                                                             {"layers", layers},
                                                             {"kv_heads", kv_heads},
                                                             {"head_dim", head_dim},
                                                             {"dtype_bytes", dtype_bytes}};
  // Multiply step by step against the limit so that no product can overflow before it is checked.
  std::size_t bytes = 2;
  for (const auto& [name, value] : fields) {
    if (value == 0) throw_error(ErrorCode::invalid_argument, fmt::format("KV block shape: {} is 0", name));
    if (value > largest_block_bytes / bytes) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("KV block shape: a block of {} x {} x {} x {} x {} x 2 bytes is over 1 GiB",
                              tokens_per_block, layers, kv_heads, head_dim, dtype_bytes));
    }
    bytes *= value;
  }
}

KvBlockShape llama3_8b_kv_shape() noexcept { return KvBlockShape{16, 32, 8, 128, 2}; }

KvResumePlan plan_kv_resume(const KvResumeRequest& request) {
  request.shape.validate();
  if (request.context_tokens == 0) throw_error(ErrorCode::invalid_argument, "plan_kv_resume: context_tokens is 0");
  if (request.cached_tokens > request.context_tokens) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("plan_kv_resume: cached_tokens ({}) is more than context_tokens ({})",
                            request.cached_tokens, request.context_tokens));
  }
  require_rate(request.prefill_tokens_per_second, "prefill_tokens_per_second");
  const std::size_t cached = request.tier == KvTier::none ? 0 : request.cached_tokens;
  const bool moves = cached > 0 && request.tier != KvTier::device;
  if (moves) {
    require_rate(request.link.h2d_gbps, "link.h2d_gbps");
    if (!std::isfinite(request.link.latency_us) || request.link.latency_us < 0) {
      throw_error(
          ErrorCode::invalid_argument,
          fmt::format("plan_kv_resume: link.latency_us must be finite and >= 0, got {}", request.link.latency_us));
    }
    if (request.tier == KvTier::file) require_rate(request.file_read_gbps, "file_read_gbps");
  }

  const KvBlockShape& shape = request.shape;
  const double rate = request.prefill_tokens_per_second;
  KvResumePlan plan;
  plan.recompute_seconds = static_cast<double>(request.context_tokens) / rate;
  const double tail_seconds = static_cast<double>(request.context_tokens - cached) / rate;
  const std::size_t blocks = shape.blocks_for(cached);
  plan.reload_bytes = moves ? blocks * shape.block_bytes() : 0;
  if (moves) {
    const double file_seconds =
        request.tier == KvTier::file ? static_cast<double>(plan.reload_bytes) / (request.file_read_gbps * 1e9) : 0.0;
    const double copy_seconds = request.link.copy_seconds(plan.reload_bytes, true);
    plan.reload_seconds = file_seconds + copy_seconds + tail_seconds;
    plan.first_layer_seconds = file_seconds + request.link.copy_seconds(blocks * shape.layer_block_bytes(), true);
    plan.per_block_copy_seconds = file_seconds + static_cast<double>(blocks * shape.layers) *
                                                     request.link.copy_seconds(shape.layer_block_bytes(), true);
  } else {
    plan.reload_seconds = tail_seconds;
  }

  if (cached > 0 && request.tier == KvTier::device) {
    plan.action = KvResumeAction::resident;
    plan.predicted_seconds = plan.reload_seconds;
    plan.prefill_tokens = request.context_tokens - cached;
  } else if (cached > 0 && plan.reload_seconds <= plan.recompute_seconds) {
    plan.action = KvResumeAction::reload;
    plan.predicted_seconds = plan.reload_seconds;
    plan.prefill_tokens = request.context_tokens - cached;
  } else {
    plan.action = KvResumeAction::recompute;
    plan.predicted_seconds = plan.recompute_seconds;
    plan.prefill_tokens = request.context_tokens;
  }
  plan.speedup = plan.predicted_seconds > 0 ? plan.recompute_seconds / plan.predicted_seconds : 1.0;
  if (plan.predicted_seconds == 0) plan.speedup = std::numeric_limits<double>::infinity();
  return plan;
}

}  // namespace ghtier
