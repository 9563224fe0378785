// CPU tests (CI) of the RowCache's decisions: choosing the hot rows, the row -> slot hash table that the
// kernel probes, and the arguments refused before any CUDA call.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "cuda/row_slot_table.hpp"
#include "ghtier/kernels/row_cache.hpp"
#include "test_support.hpp"

using namespace ghtier;

TEST(SelectHotRows, TopKByCountTiesToTheLowerIdZerosNeverAscendingOutput) {
  const std::vector<std::uint64_t> freq = {5, 0, 9, 5, 1, 9, 0, 2};
  EXPECT_EQ(RowCache::select_hot_rows(freq, 0), std::vector<std::int64_t>{});
  EXPECT_EQ(RowCache::select_hot_rows(freq, 1), (std::vector<std::int64_t>{2}));
  EXPECT_EQ(RowCache::select_hot_rows(freq, 2), (std::vector<std::int64_t>{2, 5}));
  EXPECT_EQ(RowCache::select_hot_rows(freq, 3), (std::vector<std::int64_t>{0, 2, 5}));
  EXPECT_EQ(RowCache::select_hot_rows(freq, 4), (std::vector<std::int64_t>{0, 2, 3, 5}));
  EXPECT_EQ(RowCache::select_hot_rows(freq, 100), (std::vector<std::int64_t>{0, 2, 3, 4, 5, 7}));
  EXPECT_EQ(RowCache::select_hot_rows(std::vector<std::uint64_t>{}, 10), std::vector<std::int64_t>{});
}

TEST(SelectHotRows, MatchesAFullSortOnRandomCounts) {
  auto rng = test::fresh_rng();
  std::vector<std::uint64_t> freq(5000);
  std::uniform_int_distribution<int> dist(0, 40);  // many ties and zeros
  for (auto& f : freq) f = static_cast<std::uint64_t>(dist(rng));
  for (std::size_t k : {std::size_t{1}, std::size_t{17}, std::size_t{1000}, std::size_t{4999}}) {
    // Reference: order all nonzero ids by (count desc, id asc), take k, sort ascending.
    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i < freq.size(); ++i) {
      if (freq[i] != 0) ids.push_back(static_cast<std::int64_t>(i));
    }
    std::stable_sort(ids.begin(), ids.end(), [&](std::int64_t a, std::int64_t b) {
      return freq[static_cast<std::size_t>(a)] > freq[static_cast<std::size_t>(b)];
    });
    if (ids.size() > k) ids.resize(k);
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(RowCache::select_hot_rows(freq, k), ids) << "k = " << k;
  }
}

TEST(RowSlotTable, CapacityIsAPowerOfTwoAtLeastTwiceTheRows) {
  EXPECT_EQ(detail::row_slot_capacity(0), 2u);
  EXPECT_EQ(detail::row_slot_capacity(1), 2u);
  EXPECT_EQ(detail::row_slot_capacity(2), 4u);
  EXPECT_EQ(detail::row_slot_capacity(3), 8u);
  EXPECT_EQ(detail::row_slot_capacity(1000), 2048u);
  EXPECT_EQ(detail::row_slot_capacity(1024), 2048u);
  EXPECT_EQ(detail::row_slot_capacity(1025), 4096u);
}

TEST(RowSlotTable, FindsEveryRowAndOnlyThose) {
  auto rng = test::fresh_rng();
  std::uniform_int_distribution<std::int64_t> dist(0, 1'000'000);
  std::set<std::int64_t> unique;
  while (unique.size() < 3000) unique.insert(dist(rng));
  // Clustered ids too (hot rows often are): a run of consecutive ids.
  for (std::int64_t r = 2'000'000; r < 2'000'500; ++r) unique.insert(r);
  std::vector<std::int64_t> rows(unique.begin(), unique.end());
  std::shuffle(rows.begin(), rows.end(), rng);
  const std::vector<detail::RowSlotEntry> table = detail::build_row_slot_table(rows);
  EXPECT_EQ(table.size(), detail::row_slot_capacity(rows.size()));
  std::size_t used = 0;
  for (const auto& e : table) used += e.row >= 0 ? 1 : 0;
  EXPECT_EQ(used, rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(detail::find_row_slot(table, rows[i]), static_cast<std::int64_t>(i)) << rows[i];
  }
  for (int probe = 0; probe < 3000; ++probe) {
    const std::int64_t row = dist(rng);
    const std::int64_t expected =
        unique.count(row) != 0 ? static_cast<std::int64_t>(std::find(rows.begin(), rows.end(), row) - rows.begin())
                               : -1;
    ASSERT_EQ(detail::find_row_slot(table, row), expected) << row;
  }
  EXPECT_EQ(detail::find_row_slot(table, -5), -1);
  EXPECT_EQ(detail::find_row_slot(detail::build_row_slot_table({}), 0), -1);
}

TEST(RowSlotTable, RefusesNegativeAndRepeatedIds) {
  EXPECT_GHTIER_ERROR((void)detail::build_row_slot_table(std::vector<std::int64_t>{1, -2}),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)detail::build_row_slot_table(std::vector<std::int64_t>{4, 7, 4}),
                      ErrorCode::invalid_argument);
}

TEST(RowCacheArguments, RefusedBeforeAnyCudaCall) {
  std::vector<unsigned char> table(64 * 100);
  const std::vector<std::int64_t> hot = {1, 2, 3};
  const auto invalid = ErrorCode::invalid_argument;
  EXPECT_GHTIER_ERROR(RowCache(table.data(), 0, 100, hot, nullptr), invalid);
  EXPECT_GHTIER_ERROR(RowCache(nullptr, 64, 100, hot, nullptr), invalid);
  EXPECT_GHTIER_ERROR(RowCache(table.data(), 64, 0, hot, nullptr), invalid);
  EXPECT_GHTIER_ERROR(RowCache(table.data(), 64, 3, hot, nullptr), invalid);  // row 3 of 3
  EXPECT_GHTIER_ERROR(RowCache(table.data(), 64, 100, std::vector<std::int64_t>{5, -1}, nullptr), invalid);
  EXPECT_GHTIER_ERROR(RowCache(table.data(), 64, 100, std::vector<std::int64_t>{5, 9, 5}, nullptr), invalid);
  const std::vector<std::uint64_t> freq(99, 1);
  EXPECT_GHTIER_ERROR((void)RowCache::from_frequencies(table.data(), 64, 100, freq, 10, nullptr), invalid);
}
