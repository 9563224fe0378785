// BatchBuilder: every byte of every item in exactly one call, limits held, small items never cut.
#include "engine/batch_builder.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "test_support.hpp"

namespace ghtier::detail {
namespace {

std::byte* at(std::uintptr_t address) { return reinterpret_cast<std::byte*>(address); }

TEST(BatchBuilder, RefusesZeroLimits) {
  EXPECT_GHTIER_ERROR(BatchBuilder(0, 10), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(BatchBuilder(10, 0), ErrorCode::invalid_argument);
}

TEST(BatchBuilder, PacksSmallItemsAndCutsLargeOnes) {
  const BatchBuilder builder(100, 3);
  const std::vector<BatchCopyItem> items{{at(0x1000), at(0x9000), 40}, {at(0x2000), at(0xa000), 40},
                                         {at(0x3000), at(0xb000), 40}, {at(0x4000), at(0xc000), 250},
                                         {at(0x5000), at(0xd000), 0},  {at(0x6000), at(0xe000), 10}};
  const auto calls = builder.build(items);
  // 40+40 | 40 (the third would pass 100 bytes) | 100 | 100 | 50 + 10.
  ASSERT_EQ(calls.size(), 5u);
  EXPECT_EQ(calls[0].sizes, (std::vector<std::size_t>{40, 40}));
  EXPECT_EQ(calls[1].sizes, (std::vector<std::size_t>{40}));
  EXPECT_EQ(calls[2].sizes, (std::vector<std::size_t>{100}));
  EXPECT_EQ(calls[3].sizes, (std::vector<std::size_t>{100}));
  EXPECT_EQ(calls[4].sizes, (std::vector<std::size_t>{50, 10}));
  EXPECT_EQ(calls[3].dsts[0], at(0x4000 + 100));
  EXPECT_EQ(calls[3].srcs[0], at(0xc000 + 100));
  EXPECT_EQ(calls[4].dsts[1], at(0x6000));
}

TEST(BatchBuilder, CountLimitSplitsCalls) {
  const BatchBuilder builder(1 << 20, 4);
  std::vector<BatchCopyItem> items;
  for (int i = 0; i < 10; ++i) items.push_back({at(0x100000 + i * 64), at(0x900000 + i * 64), 16});
  const auto calls = builder.build(items);
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].count(), 4u);
  EXPECT_EQ(calls[1].count(), 4u);
  EXPECT_EQ(calls[2].count(), 2u);
}

TEST(BatchBuilder, EveryByteOnceOnRandomBatches) {
  auto rng = test::fresh_rng();
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t max_bytes = std::uniform_int_distribution<std::size_t>(1, 1 << 16)(rng);
    const std::size_t max_items = std::uniform_int_distribution<std::size_t>(1, 64)(rng);
    const BatchBuilder builder(max_bytes, max_items);
    const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 300)(rng);
    std::vector<BatchCopyItem> items;
    std::uintptr_t dst = 0x10000000, src = 0x80000000;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t bytes = std::uniform_int_distribution<std::size_t>(0, 3 * max_bytes)(rng);
      items.push_back({at(dst), at(src), bytes});
      dst += bytes + 16;
      src += bytes + 32;
    }
    const auto calls = builder.build(items);
    // Reference: for each item, the pieces (dst -> (src, bytes)) must tile it from its start, in order.
    std::map<std::uintptr_t, std::pair<std::uintptr_t, std::size_t>> pieces;
    for (const auto& call : calls) {
      ASSERT_GT(call.count(), 0u);
      ASSERT_LE(call.count(), max_items);
      ASSERT_LE(call.bytes, max_bytes);
      ASSERT_EQ(call.dsts.size(), call.count());
      ASSERT_EQ(call.srcs.size(), call.count());
      std::size_t sum = 0;
      for (std::size_t k = 0; k < call.count(); ++k) {
        ASSERT_GT(call.sizes[k], 0u);
        sum += call.sizes[k];
        const auto inserted =
            pieces.emplace(reinterpret_cast<std::uintptr_t>(call.dsts[k]),
                           std::make_pair(reinterpret_cast<std::uintptr_t>(call.srcs[k]), call.sizes[k]));
        ASSERT_TRUE(inserted.second) << "a destination appears twice";
      }
      ASSERT_EQ(sum, call.bytes);
    }
    std::size_t piece_count = 0;
    for (const auto& item : items) {
      std::size_t covered = 0;
      while (covered < item.bytes) {
        const auto it = pieces.find(reinterpret_cast<std::uintptr_t>(item.dst) + covered);
        ASSERT_NE(it, pieces.end()) << "bytes of an item are missing";
        ASSERT_EQ(it->second.first, reinterpret_cast<std::uintptr_t>(item.src) + covered);
        if (item.bytes <= max_bytes) {
          ASSERT_EQ(it->second.second, item.bytes) << "a small item was cut";
        }
        covered += it->second.second;
        ++piece_count;
      }
      ASSERT_EQ(covered, item.bytes);
    }
    ASSERT_EQ(piece_count, pieces.size());
  }
}

}  // namespace
}  // namespace ghtier::detail
