// KvCacheStore: a paged KV cache for serving, whose sessions move between a device block pool and a pinned
// host block pool. Both pools are reserved once at exact size; blocks are fixed-size (KvBlockShape). The
// accounting (which block is where, forks, eviction) is plain C++; the engine moves every byte, in batches.
// Not yet here (see docs): the file tier, prefix lookup by block hash, expiry.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ghtier/engine/transfer_engine.hpp"
#include "ghtier/runtime/runtime.hpp"
#include "ghtier/workloads/kv_cache_plan.hpp"

namespace ghtier {

using KvSessionId = std::uint64_t;

struct GHTIER_API KvCacheOptions {
  KvBlockShape shape;             ///< every block's shape
  std::size_t device_blocks = 0;  ///< blocks of the device pool (> 0)
  std::size_t host_blocks = 0;    ///< blocks of the pinned host pool (0: sessions cannot be suspended)
};

struct GHTIER_API KvCacheStatistics {
  std::size_t block_bytes = 0;
  std::size_t device_blocks = 0;
  std::size_t host_blocks = 0;
  std::size_t device_blocks_used = 0;  ///< including blocks whose suspend copy still runs
  std::size_t host_blocks_used = 0;
  std::size_t sessions = 0;
  std::uint64_t suspended_bytes = 0;  ///< bytes copied to the host tier so far
  std::uint64_t restored_bytes = 0;   ///< bytes copied back so far
};

/// Thread-safe (one mutex). Block layout in both pools: block b starts at pool + b x block_bytes; within a
/// block, layer-major: [layer][K or V][token][kv_head][head_dim] (what a paged attention kernel indexes).
class GHTIER_API KvCacheStore {
 public:
  /// Reserves both pools through `runtime` (device, pinned_host). The runtime and engine must outlive the
  /// store. Throws Error: invalid_argument (an invalid shape, device_blocks 0, an engine of another device,
  /// pools whose size overflows), out_of_budget / out_of_memory (a pool cannot be reserved), unsupported
  /// (an offline runtime), cuda_error.
  KvCacheStore(Runtime& runtime, TransferEngine& engine, const KvCacheOptions& options);
  /// Waits for every copy still touching the pools, then frees them.
  ~KvCacheStore();
  KvCacheStore(const KvCacheStore&) = delete;
  KvCacheStore& operator=(const KvCacheStore&) = delete;

  /// A new, empty, active session; `priority`: higher is evicted later.
  [[nodiscard]] KvSessionId create(int priority = 0);
  /// Room for n_tokens more tokens at the session's end; returns the device block indices added. A shared
  /// partly filled last block (after fork) is copied first, and `stream` waits for that copy. Device
  /// pressure evicts unused blocks that have a host copy (no copy needed). Throws Error: not_found,
  /// invalid_argument (a suspended session, 0 tokens), out_of_budget (the device pool is full of blocks in
  /// use: nothing changed).
  std::vector<std::uint32_t> append(KvSessionId session, std::size_t n_tokens, cudaStream_t stream);
  /// The device block index of each of the session's blocks, in order (for paged attention).
  /// Throws Error: not_found, invalid_argument (suspended).
  [[nodiscard]] std::vector<std::uint32_t> block_table(KvSessionId session) const;
  /// Copies the session's blocks that have no host copy to the host pool (one batch, after the work on
  /// `stream`), then marks it suspended; its device blocks are freed once the copy is done. Throws Error:
  /// not_found, invalid_argument (already suspended), out_of_budget (the host tier is full: nothing
  /// changed, no other session lost), what the engine throws.
  void suspend(KvSessionId session, cudaStream_t stream);
  /// Copies the session's blocks back into device blocks in one batch (urgent); `stream` waits for it
  /// (the host is not blocked, except to wait for a suspend copy of this store still running). The host
  /// copies are kept, so a second suspend copies nothing. Throws Error: not_found, invalid_argument (not
  /// suspended), out_of_budget (the device pool cannot take the blocks: nothing changed).
  void resume(KvSessionId session, cudaStream_t stream);
  /// As resume, but layer-pipelined: one urgent batch per layer, queued in layer order (each moves that
  /// layer's part of every block: layer_block_bytes at offset layer x layer_block_bytes), and one token per
  /// layer. Before layer l's attention, tokens[l].make_stream_wait(stream); the first layers arrive while
  /// later ones still copy. Empty tokens (valid() false) for a session that needed no copy. Throws as resume.
  [[nodiscard]] std::vector<CompletionToken> resume_by_layer(KvSessionId session, cudaStream_t stream);
  /// A new session that shares every block of `session` (copy on write of a shared partly filled block).
  [[nodiscard]] KvSessionId fork(KvSessionId session);
  /// Forgets the session; blocks no other session holds are freed (after any copy that still reads them).
  void drop(KvSessionId session);

  [[nodiscard]] std::size_t tokens(KvSessionId session) const;
  [[nodiscard]] bool suspended(KvSessionId session) const;
  /// The device pool (device_blocks x block_bytes), for attention kernels.
  [[nodiscard]] void* device_pool() const noexcept;
  [[nodiscard]] const KvBlockShape& shape() const noexcept;
  [[nodiscard]] KvCacheStatistics statistics() const;
  /// Reload vs recompute for resuming the session now (its blocks in the host tier, or resident), from
  /// `link` and the caller's prefill rate. Throws as plan_kv_resume and Error(not_found).
  [[nodiscard]] KvResumePlan plan_resume(KvSessionId session, const LinkModel& link,
                                         double prefill_tokens_per_second) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ghtier
