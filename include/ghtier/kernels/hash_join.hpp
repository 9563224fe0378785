// Hash join on the GPU: HashJoinTable is built in device memory from the smaller relation (keys + an
// optional payload), then probed by the larger relation's key column read in place from CPU memory (plain
// or bit-packed), returning the match count, the sum of the matched payloads and, optionally, the pairs.
//
// The table is open addressing with linear probing: one slot per build row (key + row id), a capacity
// that is a power of two with at most max_load_factor of the slots used, and the payloads in a parallel
// array. Duplicate build keys are supported: every build row gets its own slot and a probe walks the run
// of slots after its hash, so a probe key that occurs d times on the build side yields d matches (a
// many-to-many join), at a cost proportional to d; heavily duplicated keys make probes slow, not wrong.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <optional>

#include "ghtier/kernels/bitpacked_column.hpp"
#include "ghtier/kernels/column_view.hpp"
#include "ghtier/memory/default_device_resource.hpp"
#include "ghtier/memory/device_buffer.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

/// The largest build side: row ids are 32-bit and one value marks an empty slot.
inline constexpr std::uint64_t max_hash_join_build_rows = 0xFFFFFFFEull;
/// The default and the largest accepted load factor (linear probing degrades quickly past ~0.9).
inline constexpr double default_hash_join_load_factor = 0.5;
inline constexpr double max_hash_join_load_factor = 0.9;

/// How a table for `build_rows` rows is laid out in device memory.
struct GHTIER_API HashTableLayout {
  std::uint64_t capacity = 0;       ///< slots: a power of two, at least 16 and above build_rows
  std::uint64_t slot_bytes = 0;     ///< 8 for int32 keys (key, row id), 16 for int64 keys
  std::uint64_t payload_bytes = 0;  ///< 8 per slot with a payload (int64 or double), else 0
  std::uint64_t bytes = 0;          ///< capacity * (slot_bytes + payload_bytes)
  double load_factor = 0;           ///< build_rows / capacity
};

/// Pure: the layout for `build_rows` keys of `key_type`: capacity = the smallest power of two (>= 16)
/// with build_rows / capacity <= max_load_factor. Throws Error(invalid_argument) for a key type that is
/// not int32/int64, a load factor outside (0, 0.9], more than max_hash_join_build_rows rows, or a load
/// factor so small that the table's size would not fit 64 bits.
[[nodiscard]] GHTIER_API HashTableLayout hash_table_layout(std::uint64_t build_rows, ColumnType key_type,
                                                           bool has_payload,
                                                           double max_load_factor = default_hash_join_load_factor);

/// One match: row `probe_row` of the probe side has the key of row `build_row` of the build side.
struct GHTIER_API JoinPair {
  std::uint64_t probe_row = 0;
  std::uint64_t build_row = 0;
};

/// Where a probe writes its matching pairs: `capacity` pairs of GPU-writable memory (device, pinned or
/// managed). With no pairs (the default) only the counts and the sum are computed.
struct GHTIER_API JoinPairsOutput {
  JoinPair* pairs = nullptr;
  std::uint64_t capacity = 0;
};

/// What a probe found. Plain data: also written by the GPU.
struct GHTIER_API JoinResult {
  std::uint64_t matches = 0;         ///< (probe row, build row) pairs with equal keys
  std::int64_t payload_sum_int = 0;  ///< integer payload: sum over the matches in int64 (wraps); else 0
  double payload_sum_float = 0;      ///< float payload: sum in double; integer payload: double(payload_sum_int)
  std::uint64_t pairs_written = 0;   ///< min(matches, capacity): pairs[0, pairs_written) are valid, in no order
  /// True when matches > capacity: the pairs beyond the capacity were dropped (which ones is unspecified);
  /// matches and the sum are still exact. Probe again with a capacity of at least `matches` to get all.
  std::uint32_t pairs_overflowed = 0;
};

struct GHTIER_API HashJoinOptions {
  /// The table's largest fraction of used slots, in (0, 0.9].
  double max_load_factor = default_hash_join_load_factor;
};

/// A hash table in device memory over the build side of a join. Probing is read-only, so one table may be
/// probed from several streams and threads at once. Move-only.
class GHTIER_API HashJoinTable {
 public:
  /// Builds the table on `stream` from `keys` (int32 or int64) and an optional `payload` column of the
  /// same row count (any type), both in any GPU-reachable tier, and waits for the build. The table
  /// (layout().bytes, device-wide) and every probe's scratch (a few dozen bytes, stream-ordered) come from
  /// `resource`, which must outlive the table.
  /// Throws Error: invalid_argument (key type, row counts, load factor, null or misaligned data, a
  /// system-memory resource), unsupported (memory the GPU cannot reach here), out_of_budget,
  /// out_of_memory, no_device, cuda_error.
  HashJoinTable(const ColumnView& keys, const std::optional<ColumnView>& payload, cudaStream_t stream = nullptr,
                const HashJoinOptions& options = {}, MemoryResource& resource = default_device_resource());
  /// Waits for the table's device (work that still probes it finishes first) and gives the memory back.
  ~HashJoinTable() = default;
  HashJoinTable(HashJoinTable&& other) noexcept = default;
  HashJoinTable& operator=(HashJoinTable&& other) noexcept = default;
  HashJoinTable(const HashJoinTable&) = delete;
  HashJoinTable& operator=(const HashJoinTable&) = delete;

  /// Probes with `probe_keys` (the table's key type; any GPU-reachable tier) on `stream` and waits.
  /// Throws Error: invalid_argument (key type differs from the table's, null or misaligned data, pairs
  /// null with a capacity), unsupported (memory the GPU cannot reach here), out_of_budget, out_of_memory
  /// (the scratch, from the table's resource), no_device, cuda_error.
  [[nodiscard]] JoinResult probe(const ColumnView& probe_keys, const JoinPairsOutput& pairs = {},
                                 cudaStream_t stream = nullptr) const;
  /// Stream-ordered probe: the result lands in `*result` (GPU-writable memory) when the stream reaches it.
  /// Throws as probe(), before anything is enqueued.
  void probe_async(const ColumnView& probe_keys, const JoinPairsOutput& pairs, JoinResult* result,
                   cudaStream_t stream) const;
  /// Probes with a bit-packed key column (value type = the table's key type), decoding it in the kernel so
  /// only the packed bytes cross the link. Waits. Throws as probe(), and Error(invalid_argument) for a
  /// block header that breaks the format.
  [[nodiscard]] JoinResult probe(const BitpackedColumnView& probe_keys, const JoinPairsOutput& pairs = {},
                                 cudaStream_t stream = nullptr) const;

  [[nodiscard]] const HashTableLayout& layout() const noexcept { return layout_; }
  [[nodiscard]] ColumnType key_type() const noexcept { return key_type_; }
  /// The payload column's type, or nullopt for a table built without a payload.
  [[nodiscard]] std::optional<ColumnType> payload_type() const noexcept { return payload_type_; }
  [[nodiscard]] std::uint64_t build_rows() const noexcept { return build_rows_; }
  /// The CUDA device whose memory holds the table (probes must run with it current).
  [[nodiscard]] int device() const noexcept { return device_; }
  /// The slot array in device memory (for the benchmarks and tests: layout described in docs/kernels.md).
  [[nodiscard]] const void* device_slots() const noexcept { return memory_.data(); }
  /// The resource the table's memory and its probes' scratch come from (null once moved from).
  [[nodiscard]] MemoryResource* resource() const noexcept { return memory_.resource(); }
  /// The payload array in device memory (int64 or double per slot), or null without a payload.
  [[nodiscard]] const void* device_payloads() const noexcept {
    if (!payload_type_ || memory_.empty()) return nullptr;
    return static_cast<const unsigned char*>(memory_.data()) + layout_.capacity * layout_.slot_bytes;
  }

 private:
  HashTableLayout layout_;
  ColumnType key_type_ = ColumnType::int32;
  std::optional<ColumnType> payload_type_;
  std::uint64_t build_rows_ = 0;
  DeviceBuffer memory_;  // capacity slots, then capacity payloads when there is one
  int device_ = 0;
};

}  // namespace ghtier
