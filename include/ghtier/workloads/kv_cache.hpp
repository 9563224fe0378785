// KvCacheStore: a paged KV cache for serving, whose sessions move between a device block pool, a pinned
// host block pool and (optionally) block files in a directory. Both pools are reserved once at exact size;
// blocks are fixed-size (KvBlockShape). Full blocks registered with their tokens' chained hashes are found
// again by later sessions (prefix reuse), through the files even by other processes. The accounting (which
// block is where, forks, prefixes, eviction) is plain C++; the engine moves every byte, in batches.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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
  /// The file tier's directory (created if missing; empty: no file tier). Host pressure moves registered
  /// blocks (see register_prefix) there instead of dropping them; needs host_blocks > 0 (files are read
  /// and written through the host pool).
  std::string file_directory{};
  std::size_t file_blocks = 0;  ///< the most blocks this store keeps in files (0: no limit)
};

/// Where a prefix is stored: how many leading tokens (whole blocks), and each block's fastest tier.
struct GHTIER_API KvPrefixLookup {
  std::size_t cached_tokens = 0;
  std::vector<KvTier> tiers;  ///< one per cached block: device, host or file
};

/// A session made from a stored prefix (create_from_prefix).
struct GHTIER_API KvPrefixSession {
  KvSessionId session = 0;
  std::size_t cached_tokens = 0;  ///< leading tokens the session holds; append (and compute) the rest
};

struct GHTIER_API KvCacheStatistics {
  std::size_t block_bytes = 0;
  std::size_t device_blocks = 0;
  std::size_t host_blocks = 0;
  std::size_t device_blocks_used = 0;  ///< including blocks whose suspend copy still runs
  std::size_t host_blocks_used = 0;
  std::size_t sessions = 0;
  std::uint64_t suspended_bytes = 0;     ///< bytes copied to the host tier so far
  std::uint64_t restored_bytes = 0;      ///< bytes copied back so far
  std::size_t file_blocks_used = 0;      ///< blocks of this store that have a block file
  std::uint64_t file_written_bytes = 0;  ///< block bytes written to files so far
  std::uint64_t file_read_bytes = 0;     ///< block bytes read from files so far
};

/// Thread-safe (one mutex). Block layout in both pools: block b starts at pool + b x block_bytes; within a
/// block, layer-major: [layer][K or V][token][kv_head][head_dim] (what a paged attention kernel indexes).
class GHTIER_API KvCacheStore {
 public:
  /// Reserves both pools through `runtime` (device, pinned_host). The runtime and engine must outlive the
  /// store. Throws Error: invalid_argument (an invalid shape, device_blocks 0, an engine of another device,
  /// pools whose size overflows), out_of_budget / out_of_memory (a pool cannot be reserved), unsupported
  /// (an offline runtime), cuda_error, io_error (file_directory cannot be created or is read-only).
  KvCacheStore(Runtime& runtime, TransferEngine& engine, const KvCacheOptions& options);
  /// The checks of the constructor that need no GPU: the shape, device_blocks, the file tier (a host tier
  /// present; the directory created if missing and a file created and removed in it). Throws as the
  /// constructor (invalid_argument, io_error).
  static void validate(const KvCacheOptions& options);
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
  /// copies are kept, so a second suspend copies nothing. Blocks that host pressure moved to files are read
  /// back first (on the host, before this returns); a block file that cannot be read (corrupt, removed)
  /// ends the session before that block, with a warning: tokens() then says how many remain, and the
  /// caller recomputes the rest. Throws Error: not_found, invalid_argument (not suspended), out_of_budget
  /// (the device pool cannot take the blocks, or the host pool the file blocks: nothing changed).
  void resume(KvSessionId session, cudaStream_t stream);
  /// As resume, but layer-pipelined: one urgent batch per layer, queued in layer order (each moves that
  /// layer's part of every block: layer_block_bytes at offset layer x layer_block_bytes), and one token per
  /// layer. Before layer l's attention, tokens[l].make_stream_wait(stream); the first layers arrive while
  /// later ones still copy. Empty tokens (valid() false) for a session that needed no copy. Throws as resume.
  [[nodiscard]] std::vector<CompletionToken> resume_by_layer(KvSessionId session, cudaStream_t stream);
  /// A new session that shares every block of `session` (copy on write of a shared partly filled block).
  [[nodiscard]] KvSessionId fork(KvSessionId session);
  /// Forgets the session; blocks no other session holds are freed (after any copy that still reads or writes
  /// them: the host waits for the store's suspend and restore copies still running).
  /// Their block files stay: they are the prefix cache that later sessions and other processes find.
  void drop(KvSessionId session);

  /// Registers the session's leading full blocks as the KV of `tokens` (its context's token ids, at most
  /// tokens(session) of them) under `salt` (e.g. the model's name and revision), so that lookup_prefix and
  /// create_from_prefix find them, here and (once in files) in other processes. Call it once the blocks'
  /// KV is written and complete (e.g. after synchronising the stream that wrote it): a session adopting
  /// them reads them on its own stream, ordered after nothing else. Throws Error: not_found, invalid_argument (more
  /// tokens than the session holds, a block registered before with other tokens).
  void register_prefix(KvSessionId session, std::span<const std::int32_t> tokens, std::string_view salt);
  /// How many leading tokens of `tokens` are stored (whole blocks; in this store or as block files) and in
  /// which tier. A block file is checked only when read, so create_from_prefix may find fewer.
  [[nodiscard]] KvPrefixLookup lookup_prefix(std::span<const std::int32_t> tokens, std::string_view salt) const;
  /// A new active session holding the stored prefix of `tokens`: blocks of other sessions are shared (copy
  /// on write of nothing: they are full), blocks in files are read, and blocks not on the device are copied
  /// there in one urgent batch that `stream` waits for. A block file that cannot be read ends the prefix
  /// there, with a warning. Throws Error: out_of_budget (the device or host pool cannot take the blocks:
  /// no session is created), what the engine throws.
  [[nodiscard]] KvPrefixSession create_from_prefix(std::span<const std::int32_t> tokens, std::string_view salt,
                                                   int priority, cudaStream_t stream);
  /// `ttl` from now on, the session's blocks that no active session uses are evicted first, whatever their
  /// priority, and dropped instead of moved to a slower tier; nullopt: never (the default). Throws Error:
  /// not_found, invalid_argument (a negative ttl).
  void set_expiry(KvSessionId session, std::optional<std::chrono::nanoseconds> ttl);

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
