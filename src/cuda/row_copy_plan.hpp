// RowCopyPlan: how the row-copy kernels (gather, scatter, the cached gather, the 2D SM copy) split rows over
// threads. A pure function of the row width, the alignment of the two sides and the SM count, so CI tests it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace ghtier::detail {

/// Who copies one row.
enum class RowCopyShape {
  thread_per_row,  ///< one thread per row, one access of access_bytes (rows of at most 16 B)
  group_per_row,   ///< a power-of-two group of 2..32 lanes, one access each (rows of at most 32 accesses)
  warp_per_row,    ///< a warp per row with 16-byte accesses at any alignment (up to 4 KiB rows)
  block_per_row,   ///< a block per 32 KiB slice of a row, each warp 4 KiB of it (wider rows)
};

[[nodiscard]] std::string_view to_string(RowCopyShape shape) noexcept;

inline constexpr unsigned row_copy_block_threads = 256;
/// Rows each thread keeps in flight in the thread/group shapes (unrolled loads before the stores).
inline constexpr unsigned row_copy_rows_in_flight = 4;
/// Resident 256-thread blocks per SM that the kernels are compiled for (at most 80 registers a thread, so
/// the unrolled loads do not spill) and the grid is sized for: 768 threads per SM keep several times the
/// link's bandwidth-latency product in flight.
inline constexpr unsigned row_copy_blocks_per_sm = 3;
/// Rows up to this width get a warp; wider rows get a block per slice of this many bytes.
inline constexpr std::size_t warp_row_limit_bytes = 4096;
inline constexpr std::size_t block_slice_bytes = 8 * warp_row_limit_bytes;

struct RowCopyPlan {
  RowCopyShape shape = RowCopyShape::thread_per_row;
  /// Width of each access in the thread/group shapes: the widest of 16/8/4/2/1 that divides the row width,
  /// both base addresses and both strides. The warp and block shapes always use 16 bytes (with byte-wide
  /// heads and tails), whatever the alignment.
  unsigned access_bytes = 1;
  /// Accesses per row in the thread/group shapes (row_bytes / access_bytes, at most 32).
  unsigned accesses_per_row = 0;
  /// Lanes that copy one row: 1, a power of two up to 32, 32 (warp) or block_threads (block).
  unsigned lanes_per_row = 1;
  unsigned block_threads = row_copy_block_threads;
  /// 0 when there is nothing to copy; else enough blocks for the rows (block shape: for every 32 KiB slice
  /// of every row), at most what the SMs hold at once.
  unsigned grid_blocks = 0;
};

/// Plans a copy of `rows` rows of `row_bytes` from rows at src_address + i * src_stride to rows at
/// dst_address + i * dst_stride (for a gather the source rows are picked by index, but share the table's
/// stride). sm_count must be positive. Pure; noexcept.
[[nodiscard]] RowCopyPlan plan_row_copy(std::size_t row_bytes, std::size_t rows, std::uintptr_t src_address,
                                        std::size_t src_stride, std::uintptr_t dst_address, std::size_t dst_stride,
                                        int sm_count) noexcept;

/// The widest power of two up to 16 that divides every one of the values (16 when all are zero).
[[nodiscard]] unsigned common_access_width(std::initializer_list<std::uintmax_t> values) noexcept;

}  // namespace ghtier::detail
