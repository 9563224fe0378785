// CPU tests (CI) of the packed join probe's planning: the arithmetic the packed kernels use to stay in
// bounds and to deal a block's rows to lanes and walks (cuda/packed_block_layout.hpp), against brute-force
// readings of the format (every block size 0..1024 and lane, the last block of odd row counts, headers at
// and past the end of the words), and the probe's grid (plan_packed_probe_grid).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "cuda/column_scan_plan.hpp"
#include "cuda/hash_join_kernels.hpp"
#include "cuda/packed_block_layout.hpp"
#include "ghtier/kernels/bitpacked_column.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

TEST(PackedBlockLayout, BlockRowsOfEveryRowCountNearBlockEdges) {
  auto rng = test::fresh_rng();
  std::vector<std::uint64_t> row_counts{0, 1, 31, 32, 33, 1023, 1024, 1025, 2047, 2048, 2049, 100001};
  std::uniform_int_distribution<std::uint64_t> any(0, 1ull << 40);
  for (int i = 0; i < 20; ++i) row_counts.push_back(any(rng));
  for (std::uint64_t rows : row_counts) {
    const BitpackedColumnView view{ColumnType::int32, rows, nullptr, nullptr, 0};
    const std::uint64_t blocks = view.block_count();
    std::uint64_t total = 0;
    // Every block before the last is full; the last holds the rest; past the end there is nothing.
    for (std::uint64_t b :
         {std::uint64_t{0}, blocks > 1 ? blocks - 2 : 0, blocks > 0 ? blocks - 1 : 0, blocks, blocks + 1}) {
      const std::uint64_t first = b * bitpack_block_values;
      const std::uint64_t want = first >= rows ? 0 : std::min<std::uint64_t>(bitpack_block_values, rows - first);
      EXPECT_EQ(detail::packed_block_rows(rows, b), want) << rows << " rows, block " << b;
    }
    if (rows < 10 * bitpack_block_values) {
      for (std::uint64_t b = 0; b < blocks; ++b) total += detail::packed_block_rows(rows, b);
      EXPECT_EQ(total, rows);
    }
  }
  const std::uint64_t most = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(detail::packed_block_rows(most, most / bitpack_block_values), most % bitpack_block_values);
  EXPECT_EQ(detail::packed_block_rows(most, 0), bitpack_block_values);
}

// Each row of a block belongs to exactly one (lane, entry) with entry < packed_lane_entries, and each walk
// of a lane (entries w, w + walks, ...) takes a disjoint share: together they cover every row once.
TEST(PackedBlockLayout, LanesAndWalksCoverEveryRowOnce) {
  for (std::uint32_t block_rows = 0; block_rows <= bitpack_block_values; ++block_rows) {
    std::vector<int> seen(bitpack_block_values, 0);
    for (std::uint32_t lane = 0; lane < detail::packed_lanes; ++lane) {
      const std::uint32_t entries = detail::packed_lane_entries(block_rows, lane);
      ASSERT_LE(entries, detail::packed_lanes);
      for (unsigned w = 0; w < detail::packed_probe_walks; ++w) {
        for (std::uint32_t entry = w; entry < entries; entry += detail::packed_probe_walks) {
          const std::uint32_t row = entry * detail::packed_lanes + lane;
          ASSERT_LT(row, block_rows) << "lane " << lane << " entry " << entry;
          ++seen[row];
        }
      }
    }
    for (std::uint32_t row = 0; row < bitpack_block_values; ++row) {
      ASSERT_EQ(seen[row], row < block_rows ? 1 : 0) << block_rows << " rows, row " << row;
    }
  }
}

TEST(PackedBlockLayout, HeadersInBoundsOnlyWhenTheirWordsAre) {
  // Width by width: a block's 32 * width words end exactly at word_count (in), one word past it (out).
  for (std::uint32_t width = 0; width <= bitpack_max_width; ++width) {
    const std::uint64_t first_word = 32ull * 5;
    const std::uint64_t end = first_word + 32ull * width;
    EXPECT_TRUE(detail::packed_block_in_bounds(width, first_word, end)) << width;
    EXPECT_TRUE(detail::packed_block_in_bounds(width, first_word, end + 1)) << width;
    if (width > 0) {
      EXPECT_FALSE(detail::packed_block_in_bounds(width, first_word, end - 1)) << width;
    }
  }
  EXPECT_FALSE(detail::packed_block_in_bounds(33, 0, 1ull << 40));
  EXPECT_FALSE(detail::packed_block_in_bounds(std::numeric_limits<std::uint32_t>::max(), 0, ~0ull));
  // The largest offset the format holds does not wrap.
  const std::uint64_t last_offset_word = 32ull * std::numeric_limits<std::uint32_t>::max();
  EXPECT_FALSE(detail::packed_block_in_bounds(32, last_offset_word, 1024));
  EXPECT_TRUE(detail::packed_block_in_bounds(32, last_offset_word, last_offset_word + 1024));
  // A width-0 block reads nothing: in bounds even at the very end of the words, or with none at all.
  EXPECT_TRUE(detail::packed_block_in_bounds(0, 0, 0));
}

TEST(PackedProbeGrid, OneWarpPerBlockUpToTheSmCapThenStreams) {
  using detail::packed_probe_block_threads;
  using detail::packed_probe_blocks_per_sm;
  constexpr std::uint64_t warps_per_block = packed_probe_block_threads / 32;
  static_assert(packed_probe_block_threads % 32 == 0 && packed_probe_block_threads <= detail::scan_block_threads);
  // Shared memory of the kernel: a block's staged keys and home slots per warp, within 48 KiB of static memory.
  static_assert(warps_per_block * bitpack_block_values * 2 * sizeof(std::uint32_t) <= 48 * 1024);
  for (int sm_count : {1, 132}) {
    const std::uint64_t cap = static_cast<std::uint64_t>(sm_count) * packed_probe_blocks_per_sm;
    for (std::uint64_t packed_blocks :
         {std::uint64_t{0}, std::uint64_t{1}, warps_per_block, warps_per_block + 1, cap * warps_per_block - 1,
          cap * warps_per_block, cap * warps_per_block + 1, std::uint64_t{1} << 40}) {
      const detail::ScanGrid grid = detail::plan_packed_probe_grid(packed_blocks, sm_count);
      EXPECT_EQ(grid.threads, packed_probe_block_threads);
      // Enough warps for one packed block each, at least one block, at most the cap.
      const std::uint64_t want =
          std::clamp<std::uint64_t>((packed_blocks + warps_per_block - 1) / warps_per_block, 1, cap);
      EXPECT_EQ(grid.blocks, want) << packed_blocks << " packed blocks, " << sm_count << " SMs";
    }
  }
  EXPECT_EQ(detail::plan_packed_probe_grid(1ull << 40, 0).blocks, packed_probe_blocks_per_sm);
  EXPECT_EQ(detail::plan_packed_probe_grid(1ull << 40, -3).blocks, packed_probe_blocks_per_sm);
}

}  // namespace
}  // namespace ghtier
