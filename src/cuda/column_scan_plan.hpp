// How the column kernels (aggregate, group-by, hash-join build and probe) cut a scan over threads: where
// 16-byte loads can start given the columns' alignments, the grid from the SM count, and the group-by's
// choice between shared- and global-memory accumulators. Pure functions of plain values, tested in CI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ghtier::detail {

/// Threads per block of the streaming kernels, and blocks per SM the grid is sized for (2048 threads/SM).
inline constexpr unsigned scan_block_threads = 256;
inline constexpr unsigned scan_blocks_per_sm = 8;
/// Rows one vector step covers: one 16-byte load of a 4-byte column, two of an 8-byte column.
inline constexpr unsigned scan_rows_per_vector = 4;
/// Vector steps each thread issues before it uses any (loads in flight per thread and column).
inline constexpr unsigned scan_vectors_per_thread = 4;

/// One column of a scan: its start address and value size (4 or 8).
struct ColumnAddress {
  std::uintptr_t address = 0;
  std::size_t value_bytes = 4;
};

/// How the rows [0, rows) of a scan split into a scalar head, a body of 16-byte vector steps
/// (scan_rows_per_vector rows each) and a scalar tail.
struct VectorPlan {
  bool vectorized = false;       ///< false: every column is read one value at a time (still coalesced)
  std::uint32_t head_rows = 0;   ///< rows before the first vector step (0..3)
  std::uint64_t body_steps = 0;  ///< vector steps of scan_rows_per_vector rows from head_rows
  std::uint32_t tail_rows = 0;   ///< rows after the body (0..3)
};

/// Plans the loads of `rows` rows read from every column at once: vectorized when one head (0..3 rows)
/// brings every column to a 16-byte boundary (same misalignment phase), else scalar steps of 4 rows.
/// Each address must be aligned to its value size. Pure.
[[nodiscard]] VectorPlan plan_vector_loads(std::uint64_t rows, std::span<const ColumnAddress> columns) noexcept;

struct ScanGrid {
  unsigned blocks = 1;
  unsigned threads = scan_block_threads;
};

/// A grid for `work_items` items of which each thread takes `items_per_thread` per pass: enough blocks to
/// cover the work once, at most blocks_per_sm per SM (the rest is a grid-stride loop), at least one.
/// sm_count below 1 counts as 1. Pure.
[[nodiscard]] ScanGrid plan_scan_grid(std::uint64_t work_items, unsigned items_per_thread, int sm_count,
                                      unsigned threads = scan_block_threads,
                                      unsigned blocks_per_sm = scan_blocks_per_sm) noexcept;

/// Everything a streaming kernel needs to know about its rows: the vector plan and the grid.
struct ScanShape {
  std::uint64_t rows = 0;
  VectorPlan vectors;
  ScanGrid grid;
};

/// plan_vector_loads + a grid of scan_block_threads threads with scan_vectors_per_thread steps each. Pure.
[[nodiscard]] ScanShape plan_scan(std::uint64_t rows, std::span<const ColumnAddress> columns, int sm_count) noexcept;

/// A grid for a bit-packed column: one warp per packed block of 1024 values.
[[nodiscard]] ScanGrid plan_packed_grid(std::uint64_t packed_blocks, int sm_count) noexcept;

/// Threads per block of the pipelined packed join probe: each warp stages a block's keys and their home
/// slots in shared memory (8 KiB a warp), and 4 warps a block keep that under the 48 KiB of static shared
/// memory a block may have, while 4 such blocks per SM still fit the registers (about 100 a thread).
inline constexpr unsigned packed_probe_block_threads = 128;
/// Blocks per SM the packed probe grid is planned for (the launcher caps it at what fits the SM).
inline constexpr unsigned packed_probe_blocks_per_sm = 16;

/// A grid for the pipelined packed join probe: one warp per packed block per pass, blocks of
/// packed_probe_block_threads, at most packed_probe_blocks_per_sm a SM (then each warp streams several
/// packed blocks), at least one. Pure.
[[nodiscard]] ScanGrid plan_packed_probe_grid(std::uint64_t packed_blocks, int sm_count) noexcept;

/// Where a group-by keeps its per-group partial aggregates while it scans.
enum class GroupByStrategy {
  shared_memory,  ///< per block in shared memory, merged into device memory at the block's end
  global_memory,  ///< directly in device memory with global atomics (too many groups for shared memory)
};
[[nodiscard]] std::string_view to_string(GroupByStrategy strategy) noexcept;

/// Bytes of per-group accumulators (count, sum, min, max: 8 bytes each).
inline constexpr std::size_t group_accumulator_bytes = 32;

struct GroupByLaunch {
  GroupByStrategy strategy = GroupByStrategy::shared_memory;
  ScanGrid grid;
  std::size_t shared_bytes = 0;  ///< dynamic shared memory per block
};

/// Chooses the group-by's strategy and grid: shared memory when groups * 32 bytes fit a block's opt-in
/// shared memory, with as many blocks per SM as the SM's shared memory holds (at most scan_blocks_per_sm;
/// 512 threads a block when fewer than 4 fit, else 256); otherwise global memory with the scan grid.
/// `scan_steps` is the number of vector steps of the scan. Pure.
[[nodiscard]] GroupByLaunch plan_group_by_launch(std::uint32_t groups, std::uint64_t scan_steps, int sm_count,
                                                 std::size_t shared_per_block_optin,
                                                 std::size_t shared_per_sm) noexcept;

}  // namespace ghtier::detail
