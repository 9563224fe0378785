// ChunkPlanner: exact small plans, and the invariants on fresh random ranges.
#include "engine/chunk_planner.hpp"

#include <gtest/gtest.h>

#include <random>

#include "test_support.hpp"

namespace ghtier::detail {
namespace {

TEST(ChunkPlanner, RefusesBadSettings) {
  EXPECT_GHTIER_ERROR(ChunkPlanner(1 << 20, 0), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(ChunkPlanner(1 << 20, 3), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(ChunkPlanner(100, 128), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(ChunkPlanner(0, 1), ErrorCode::invalid_argument);
}

TEST(ChunkPlanner, ZeroBytesHasNoChunk) { EXPECT_TRUE(ChunkPlanner(4096, 64).plan(0x1000, 0).empty()); }

TEST(ChunkPlanner, SmallExactPlan) {
  // [100, 1100) with 256-byte chunks and boundaries on multiples of 64: 320, 576, 832, 1088.
  const std::vector<Chunk> expected{{0, 220}, {220, 256}, {476, 256}, {732, 256}, {988, 12}};
  EXPECT_EQ(ChunkPlanner(256, 64).plan(100, 1000), expected);
  // Aligned start, exact multiple: equal chunks.
  const std::vector<Chunk> even{{0, 256}, {256, 256}, {512, 256}};
  EXPECT_EQ(ChunkPlanner(256, 64).plan(1024, 768), even);
  // Smaller than a chunk: one chunk, whatever the alignment.
  const std::vector<Chunk> one{{0, 7}};
  EXPECT_EQ(ChunkPlanner(256, 64).plan(13, 7), one);
}

TEST(ChunkPlanner, RefusesRangesThatWrap) {
  EXPECT_GHTIER_ERROR((void)ChunkPlanner(4096, 64).plan(~std::uintptr_t{0} - 10, 100), ErrorCode::invalid_argument);
}

TEST(ChunkPlanner, InvariantsOnRandomRanges) {
  auto rng = test::fresh_rng();
  for (int trial = 0; trial < 5000; ++trial) {
    const std::size_t alignment = std::size_t{1} << std::uniform_int_distribution<int>(0, 21)(rng);
    const std::size_t chunk = alignment * std::uniform_int_distribution<std::size_t>(1, 64)(rng) +
                              std::uniform_int_distribution<std::size_t>(0, alignment - 1)(rng);
    const std::uintptr_t address = std::uniform_int_distribution<std::uintptr_t>(0, std::uintptr_t{1} << 47)(rng);
    const std::size_t bytes = std::uniform_int_distribution<std::size_t>(1, chunk * 40)(rng);
    const ChunkPlanner planner(chunk, alignment);
    const std::vector<Chunk> chunks = planner.plan(address, bytes);
    ASSERT_FALSE(chunks.empty());
    std::size_t next = 0;
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      ASSERT_EQ(chunks[i].offset, next) << "chunk " << i << " leaves a gap or overlaps";
      ASSERT_GT(chunks[i].bytes, 0u);
      ASSERT_LE(chunks[i].bytes, chunk);
      if (i > 0) {
        ASSERT_EQ((address + chunks[i].offset) % alignment, 0u) << "chunk " << i << " starts unaligned";
      }
      next += chunks[i].bytes;
    }
    ASSERT_EQ(next, bytes);
    // Every chunk but the first and the last is at least chunk - alignment + 1 bytes: no needless splits.
    for (std::size_t i = 1; i + 1 < chunks.size(); ++i) {
      ASSERT_GT(chunks[i].bytes + alignment, chunk);
    }
  }
}

}  // namespace
}  // namespace ghtier::detail
