// Where a bit-packed block's rows and words lie, as the decoding kernels see it: whether a header keeps the
// block inside the word array, how many of a block's rows exist, and how many of a lane's 32 entries are
// rows. Pure functions shared by the kernels and the CPU tests (format: include/ghtier/kernels/bitpacked_column.hpp).
#pragma once

#include <cstdint>

#include "cuda/ordered_key.hpp"  // GHTIER_HOST_DEVICE
#include "ghtier/kernels/bitpacked_column.hpp"

namespace ghtier::detail {

/// Lanes a block's values are dealt to (and entries per lane).
inline constexpr std::uint32_t packed_lanes = 32;

/// True when a header of `width` bits whose words start at word `first_word` (= offset * 32) describes a block
/// that a kernel may read: width <= 32 and its 32 * width words inside [0, word_count). first_word must be
/// below 2^38 (it is: offsets are 32-bit), so nothing wraps.
GHTIER_HOST_DEVICE inline bool packed_block_in_bounds(std::uint32_t width, std::uint64_t first_word,
                                                      std::uint64_t word_count) {
  return width <= bitpack_max_width && first_word + std::uint64_t{packed_lanes} * width <= word_count;
}

/// Rows of block `block` that exist in a column of `rows` rows: 1024, fewer in the last block, 0 past the end.
GHTIER_HOST_DEVICE inline std::uint32_t packed_block_rows(std::uint64_t rows, std::uint64_t block) {
  const std::uint64_t blocks_before_end = rows / bitpack_block_values;
  if (block < blocks_before_end) return bitpack_block_values;
  if (block > blocks_before_end) return 0;
  return static_cast<std::uint32_t>(rows % bitpack_block_values);
}

/// Entries of lane `lane` (0..31) that are rows in a block of `block_rows` (0..1024) rows: entry i is row
/// 32 * i + lane of the block, so the lane's rows are its first packed_lane_entries entries.
GHTIER_HOST_DEVICE inline std::uint32_t packed_lane_entries(std::uint32_t block_rows, std::uint32_t lane) {
  return block_rows > lane ? (block_rows - lane + packed_lanes - 1) / packed_lanes : 0;
}

}  // namespace ghtier::detail
