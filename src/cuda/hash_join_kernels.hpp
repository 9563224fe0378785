// Launchers of the hash-join kernels: build a table from a key (+ payload) column, probe it with a plain or
// bit-packed key column, and init/finalise the probe's accumulator. Validation happens in hash_join.cpp.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/column_scan_plan.hpp"
#include "cuda/scan_args.hpp"
#include "ghtier/kernels/hash_join.hpp"

namespace ghtier::detail {

/// How the payload is kept per slot: not at all, as int64, or as double.
enum class PayloadKind : std::uint8_t { none, integer, floating };

/// A table in device memory as the kernels see it.
struct HashTableView {
  void* slots = nullptr;       ///< capacity HashSlot32 or HashSlot64, filled with 0xFF before a build
  void* payloads = nullptr;    ///< capacity 8-byte payloads, or null
  std::uint64_t capacity = 0;  ///< a power of two
  ColumnType key_type = ColumnType::int32;
  PayloadKind payload = PayloadKind::none;
};

/// A probe's running totals in device memory.
struct JoinAccumulator {
  unsigned long long matches;
  unsigned long long sum;              ///< int64 (two's complement) or double bits, by the payload kind
  unsigned long long pairs_cursor;     ///< pairs claimed so far (may pass the capacity)
  unsigned long long first_bad_block;  ///< packed keys: lowest block with a bad header; ~0 when none
};

/// Inserts rows [0, shape.rows) of `keys` (the table's key type) and `payload` (data null when the table
/// has none) into the table; the table must have more slots than rows.
void launch_hash_table_build(const ScanColumn& keys, const ScanColumn& payload, const ScanShape& shape,
                             const HashTableView& table, cudaStream_t stream);

/// Sets the accumulator to zero matches, zero sum, cursor 0, no bad block.
void launch_join_init(JoinAccumulator* accumulator, cudaStream_t stream);

/// Probes with rows [0, shape.rows) of `keys`; adds to *accumulator and writes pairs while they fit.
void launch_hash_join_probe(const ScanColumn& keys, const ScanShape& shape, const HashTableView& table,
                            const JoinPairsOutput& pairs, JoinAccumulator* accumulator, cudaStream_t stream);

/// Which kernel probes with a bit-packed key column.
enum class PackedProbeKernel : std::uint8_t {
  /// Each warp keeps the next block's loads in flight while its lanes walk the current block's keys, each
  /// lane at its own pace, packed_probe_walks keys at once, hashing each key as its walk starts (the default,
  /// and what HashJoinTable uses). Measured against pipelined_staged_homes on the H200 over PCIe, 12-bit keys,
  /// 2026-12-04: 45.7 against 38.7 GB/s from pinned memory, 81.6 against 59.8 from HBM; the staged homes'
  /// shared memory (twice this kernel's) leaves L1 less room than the probed table needs.
  pipelined,
  /// The same, with the home slots of a block's keys hashed before the walks, every lane together, into
  /// shared memory (tables of at most 2^32 slots; larger ones hash in the walk); for the benchmark's A/B.
  pipelined_staged_homes,
  /// The first release's kernel: header, words, then 32 warp-synchronous walks per block, nothing in flight
  /// meanwhile. Kept for one release so that the benchmark can compare the two in one run.
  warp_synchronous,
};

/// Keys each lane of the pipelined packed probe walks side by side (independent slot loads in flight).
inline constexpr unsigned packed_probe_walks = 2;
/// Blocks of packed_probe_block_threads per SM the pipelined packed probe is compiled for: caps its
/// registers at 128 a thread, so that at least 16 warps per SM overlap their table walks.
inline constexpr unsigned packed_probe_min_blocks_per_sm = 4;

/// The same with a bit-packed key column (value type = the table's key type): warps take the packed blocks
/// in turn (grid: plan_packed_probe_grid; plan_packed_grid for warp_synchronous). grid.threads must be a
/// multiple of 32 up to packed_probe_block_threads (scan_block_threads for warp_synchronous), else
/// Error(internal).
void launch_packed_hash_join_probe(const PackedColumn& keys, const ScanGrid& grid, const HashTableView& table,
                                   const JoinPairsOutput& pairs, JoinAccumulator* accumulator, cudaStream_t stream,
                                   PackedProbeKernel which = PackedProbeKernel::pipelined);

/// Writes the JoinResult of an accumulator (`capacity` = the pairs output's capacity, 0 without pairs).
void launch_join_finalize(const JoinAccumulator* accumulator, PayloadKind payload, bool pairs_requested,
                          std::uint64_t capacity, JoinResult* result, cudaStream_t stream);

}  // namespace ghtier::detail
