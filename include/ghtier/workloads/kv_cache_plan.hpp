// KV cache planning for serving: the block shape of a paged KV store, and per request whether a returning
// session's context is reloaded from a slower tier (host memory, files) or recomputed by a prefill, with the
// predicted time of each. Pure C++ over plain values: no GPU, tested in CI, printed by `ghtier plan kv-cache`.
#pragma once

#include "ghtier/export.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ghtier/platform/link_model.hpp"

namespace ghtier {

/// Where a KV block lives, fastest first. `none`: nowhere (never stored, or evicted from every tier).
enum class KvTier { device, host, file, none };

[[nodiscard]] GHTIER_API std::string_view to_string(KvTier tier) noexcept;

/// The shape of one KV block: `tokens_per_block` tokens of keys and values for every layer.
/// Chosen when a store is created; every block of the store has it.
struct GHTIER_API KvBlockShape {
  std::size_t tokens_per_block = 16;
  std::size_t layers = 32;
  std::size_t kv_heads = 8;
  std::size_t head_dim = 128;
  std::size_t dtype_bytes = 2;  ///< 2 for bf16 / fp16

  /// Keys and values of one token over all layers: 2 x layers x kv_heads x head_dim x dtype_bytes.
  [[nodiscard]] std::size_t bytes_per_token() const noexcept;
  /// One layer's keys and values of one block (the unit that a layer-pipelined restore moves).
  [[nodiscard]] std::size_t layer_block_bytes() const noexcept;
  /// One block over all layers: tokens_per_block x bytes_per_token().
  [[nodiscard]] std::size_t block_bytes() const noexcept;
  /// Blocks that hold `tokens` tokens (the last one may be partly filled).
  [[nodiscard]] std::size_t blocks_for(std::size_t tokens) const noexcept;
  /// Throws Error(invalid_argument) naming a field that is 0, or a block of more than 1 GiB (a shape that
  /// cannot be meant, e.g. a byte count passed as a head count).
  void validate() const;
};

/// Llama-3-8B: 32 layers, 8 KV heads of 128, bf16 (128 KiB of KV per token), 16-token blocks.
[[nodiscard]] GHTIER_API KvBlockShape llama3_8b_kv_shape() noexcept;

/// What a returning session should do before its first new token.
enum class KvResumeAction {
  resident,   ///< the cached context is already in device memory: nothing to move
  reload,     ///< copy the cached blocks to the device, prefill only the tokens that are not cached
  recompute,  ///< prefill the whole context (reloading would take longer, or nothing is cached)
};

[[nodiscard]] GHTIER_API std::string_view to_string(KvResumeAction action) noexcept;

/// One returning session, as the planner sees it.
struct GHTIER_API KvResumeRequest {
  KvBlockShape shape;
  std::size_t context_tokens = 0;        ///< tokens of the context that the next turn attends to
  std::size_t cached_tokens = 0;         ///< leading tokens whose KV is stored (at most context_tokens)
  KvTier tier = KvTier::host;            ///< where the cached blocks are (none: nothing is cached)
  LinkModel link;                        ///< h2d_gbps and latency_us are used
  double prefill_tokens_per_second = 0;  ///< the caller's measured prefill rate of this model (> 0)
  double file_read_gbps = 0;             ///< the file tier's read rate; needed (> 0) when tier is file
};

/// The planner's answer for one request. Times run from the request to the context's KV being complete
/// in device memory (the first decode step comes after it, the same in both cases).
struct GHTIER_API KvResumePlan {
  KvResumeAction action = KvResumeAction::recompute;
  double predicted_seconds = 0;  ///< of the chosen action
  /// Restore of the cached blocks in one batch (file tier: read into host memory, then copied; the two
  /// are not overlapped in this model) plus the prefill of the uncached tail.
  double reload_seconds = 0;
  double recompute_seconds = 0;  ///< prefill of the whole context
  /// A layer-pipelined restore: when the first layer's blocks are on the device (its attention may start).
  double first_layer_seconds = 0;
  /// The same restore as one cudaMemcpyAsync per block and layer (each paying the link's latency): what
  /// a per-block copy loop costs, for comparison.
  double per_block_copy_seconds = 0;
  std::size_t reload_bytes = 0;    ///< bytes the reload moves (whole blocks)
  std::size_t prefill_tokens = 0;  ///< tokens the chosen action prefills
  double speedup = 1;              ///< recompute_seconds / predicted_seconds
};

/// Decides reload vs recompute for one request. Ties go to reload (it leaves the compute free).
/// Throws Error(invalid_argument) for an invalid shape, cached_tokens > context_tokens, a prefill rate or
/// (for the tier in use) a bandwidth that is not a positive finite number, or a context of 0 tokens.
[[nodiscard]] GHTIER_API KvResumePlan plan_kv_resume(const KvResumeRequest& request);

/// A table of plans for several context lengths (one request each, differing only in context_tokens and
/// cached_tokens = context_tokens), as `ghtier plan kv-cache` prints it.
[[nodiscard]] GHTIER_API std::string describe_kv_plans(const std::vector<KvResumeRequest>& requests,
                                                       const std::vector<KvResumePlan>& plans);
/// The same as one JSON object {"plans": [...]}. Throws Error(invalid_argument) for lists of unequal length.
[[nodiscard]] GHTIER_API std::string kv_plans_to_json(const std::vector<KvResumeRequest>& requests,
                                                      const std::vector<KvResumePlan>& plans);

}  // namespace ghtier
