// GPU tests of RowCache against a CPU reference on fresh random data: cached gathers for every row width
// class, tier and index type, exact hit/miss counts, hot rows from given and from recorded frequencies,
// reload after the table changes, unaligned tables, and out-of-range indices.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "gather_reference.hpp"
#include "ghtier/error.hpp"
#include "ghtier/kernels/index_check.hpp"
#include "ghtier/kernels/row_cache.hpp"
#include "same_rows.hpp"
#include "test_support.hpp"
#include "tier_buffer.hpp"

using namespace ghtier;
using test::Tier;
using test::TierBuffer;

namespace {
constexpr unsigned char poison_byte = 0xA5;

using ghtier::test::device_indices;
using ghtier::test::random_bytes;
using ghtier::test::reference_gather;
using ghtier::test::same_rows;

std::vector<std::uint64_t> histogram(const std::vector<std::int64_t>& idx, std::size_t num_rows) {
  std::vector<std::uint64_t> counts(num_rows, 0);
  for (std::int64_t i : idx) ++counts[static_cast<std::size_t>(i)];
  return counts;
}

template <class Index>
std::uint64_t hits_in(const std::vector<Index>& idx, std::span<const std::int64_t> hot) {
  const std::set<std::int64_t> set(hot.begin(), hot.end());
  std::uint64_t hits = 0;
  for (Index i : idx) hits += set.count(static_cast<std::int64_t>(i));
  return hits;
}

template <class Index>
void cached_gather_matches(std::size_t row_bytes, Tier tier, std::size_t table_offset) {
  auto rng = test::fresh_rng();
  const std::size_t num_rows = std::clamp<std::size_t>((4u << 20) / row_bytes, 64, 2000);
  const std::size_t count = 2 * num_rows;
  const std::vector<unsigned char> host = random_bytes(rng, num_rows * row_bytes);
  TierBuffer table(tier, host.size() + table_offset);
  table.upload(host.data(), host.size(), table_offset);
  // A quarter of the rows are hot; half of the requests go to them.
  std::vector<std::int64_t> all(num_rows);
  std::iota(all.begin(), all.end(), 0);
  std::shuffle(all.begin(), all.end(), rng);
  const std::vector<std::int64_t> hot(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(num_rows / 4));
  std::vector<Index> idx(count);
  std::uniform_int_distribution<std::size_t> any(0, num_rows - 1);
  std::uniform_int_distribution<std::size_t> any_hot(0, hot.size() - 1);
  for (std::size_t i = 0; i < count; ++i) {
    idx[i] = static_cast<Index>(i % 2 == 0 ? hot[any_hot(rng)] : static_cast<std::int64_t>(any(rng)));
  }
  test::TestStream stream;
  RowCache cache(table.data() + table_offset, row_bytes, num_rows, hot, stream.get());
  EXPECT_EQ(cache.cached_rows(), hot.size());
  std::vector<std::int64_t> sorted_hot = hot;
  std::sort(sorted_hot.begin(), sorted_hot.end());
  EXPECT_TRUE(std::equal(sorted_hot.begin(), sorted_hot.end(), cache.hot_rows().begin(), cache.hot_rows().end()));
  EXPECT_GE(cache.device_bytes(), hot.size() * row_bytes);

  const TierBuffer d_idx = device_indices(idx);
  TierBuffer out(Tier::device, count * row_bytes);
  out.poison(poison_byte);
  cache.gather(reinterpret_cast<const Index*>(d_idx.data()), count, out.data(), stream.get());
  stream.sync();
  EXPECT_TRUE(same_rows(reference_gather(host, row_bytes, idx), out.download(), row_bytes));
  const RowCache::Stats stats = cache.stats(stream.get());
  const std::uint64_t expected_hits = hits_in(idx, hot);
  EXPECT_EQ(stats.hits, expected_hits);
  EXPECT_EQ(stats.misses, count - expected_hits);
  cache.reset_stats(stream.get());
  EXPECT_EQ(cache.stats(stream.get()).hits, 0u);
  EXPECT_EQ(cache.stats(stream.get()).misses, 0u);
}
}  // namespace

class RowCacheMatrix : public ::testing::TestWithParam<std::tuple<std::size_t, Tier, bool>> {};

TEST_P(RowCacheMatrix, MatchesTheCpuReferenceAndCountsHits) {
  GHTIER_REQUIRE_GPU();
  const auto [row_bytes, tier, wide] = GetParam();
  if (!test::gpu_reaches(tier)) {
    GTEST_SKIP() << "system (malloc) memory: this GPU cannot access pageable memory (no ATS/HMM)";
  }
  if (wide) {
    cached_gather_matches<std::int64_t>(row_bytes, tier, 0);
  } else {
    cached_gather_matches<std::int32_t>(row_bytes, tier, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(WidthsTiersIndexTypes, RowCacheMatrix,
                         ::testing::Combine(::testing::Values(4u, 12u, 128u, 1024u, 5000u),
                                            ::testing::Values(Tier::pinned, Tier::device, Tier::managed, Tier::system),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::to_string(std::get<0>(info.param)) + "B_" +
                                  test::to_string(std::get<1>(info.param)) +
                                  (std::get<2>(info.param) ? "_int64" : "_int32");
                         });

TEST(RowCache, UnalignedTable) {
  GHTIER_REQUIRE_GPU();
  for (std::size_t row_bytes : {12u, 100u, 1024u, 5000u}) {
    SCOPED_TRACE(std::to_string(row_bytes) + " B rows at table + 3");
    cached_gather_matches<std::int64_t>(row_bytes, Tier::pinned, 3);
  }
}

TEST(RowCache, FromFrequenciesCachesTheHottestRows) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  const std::size_t row_bytes = 128;
  const std::size_t num_rows = 3000;
  const std::vector<unsigned char> host = random_bytes(rng, num_rows * row_bytes);
  TierBuffer table(Tier::pinned, host.size());
  table.upload(host.data(), host.size());
  const std::vector<std::int64_t> sample = test::zipf_keys<std::int64_t>(rng, 20000, num_rows, 0.99);
  const std::vector<std::uint64_t> freq = histogram(sample, num_rows);
  test::TestStream stream;
  RowCache cache = RowCache::from_frequencies(table.data(), row_bytes, num_rows, freq, 100, stream.get());
  const std::vector<std::int64_t> expected_hot = RowCache::select_hot_rows(freq, 100);
  EXPECT_TRUE(std::equal(expected_hot.begin(), expected_hot.end(), cache.hot_rows().begin(), cache.hot_rows().end()));
  const std::vector<std::int64_t> queries = test::zipf_keys<std::int64_t>(rng, 5000, num_rows, 0.99);
  const TierBuffer d_idx = device_indices(queries);
  TierBuffer out(Tier::device, queries.size() * row_bytes);
  out.poison(poison_byte);
  cache.gather(reinterpret_cast<const std::int64_t*>(d_idx.data()), queries.size(), out.data(), stream.get());
  stream.sync();
  EXPECT_TRUE(same_rows(reference_gather(host, row_bytes, queries), out.download(), row_bytes));
  EXPECT_EQ(cache.stats(stream.get()).hits, hits_in(queries, cache.hot_rows()));
}

TEST(RowCache, RecordThenRefreshCachesWhatWasAskedForMost) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  const std::size_t row_bytes = 100;
  const std::size_t num_rows = 2000;
  const std::vector<unsigned char> host = random_bytes(rng, num_rows * row_bytes);
  TierBuffer table(Tier::pinned, host.size());
  table.upload(host.data(), host.size());
  test::TestStream stream;
  RowCache cache(table.data(), row_bytes, num_rows, std::vector<std::int64_t>{}, stream.get());
  EXPECT_EQ(cache.cached_rows(), 0u);
  EXPECT_GHTIER_ERROR(cache.refresh(10, stream.get()), ErrorCode::invalid_argument);  // nothing recorded

  // Two recorded batches (int64 and int32) add up; an out-of-range index is ignored by record().
  std::vector<std::int64_t> first = test::zipf_keys<std::int64_t>(rng, 6000, num_rows, 0.99);
  const std::vector<std::int64_t> second64 = test::zipf_keys<std::int64_t>(rng, 4000, num_rows, 0.99);
  const std::vector<std::int32_t> second(second64.begin(), second64.end());
  std::vector<std::int64_t> both = first;
  both.insert(both.end(), second64.begin(), second64.end());
  first.push_back(static_cast<std::int64_t>(num_rows) + 5);
  const TierBuffer d_first = device_indices(first);
  const TierBuffer d_second = device_indices(second);
  cache.record(reinterpret_cast<const std::int64_t*>(d_first.data()), first.size(), stream.get());
  cache.record(reinterpret_cast<const std::int32_t*>(d_second.data()), second.size(), stream.get());
  cache.refresh(64, stream.get());
  std::vector<std::int64_t> expected_hot = RowCache::select_hot_rows(histogram(both, num_rows), 64);
  EXPECT_TRUE(std::equal(expected_hot.begin(), expected_hot.end(), cache.hot_rows().begin(), cache.hot_rows().end()));

  // The gather through the refreshed cache is right and hits where it should.
  const TierBuffer d_both = device_indices(both);
  TierBuffer out(Tier::device, both.size() * row_bytes);
  out.poison(poison_byte);
  cache.gather(reinterpret_cast<const std::int64_t*>(d_both.data()), both.size(), out.data(), stream.get());
  stream.sync();
  EXPECT_TRUE(same_rows(reference_gather(host, row_bytes, both), out.download(), row_bytes));
  EXPECT_EQ(cache.stats(stream.get()).hits, hits_in(both, cache.hot_rows()));

  // The counts were cleared by refresh(): a new batch alone decides the next refresh.
  const std::vector<std::int64_t> third = {7, 7, 7, 9, 9, 11};
  const TierBuffer d_third = device_indices(third);
  cache.record(reinterpret_cast<const std::int64_t*>(d_third.data()), third.size(), stream.get());
  cache.refresh(2, stream.get());
  EXPECT_EQ(std::vector<std::int64_t>(cache.hot_rows().begin(), cache.hot_rows().end()),
            (std::vector<std::int64_t>{7, 9}));
}

TEST(RowCache, HoldsCopiesUntilReload) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  const std::size_t row_bytes = 64;
  const std::size_t num_rows = 100;
  std::vector<unsigned char> host = random_bytes(rng, num_rows * row_bytes);
  TierBuffer table(Tier::pinned, host.size());
  table.upload(host.data(), host.size());
  test::TestStream stream;
  RowCache cache(table.data(), row_bytes, num_rows, std::vector<std::int64_t>{5, 6}, stream.get());
  stream.sync();
  const std::vector<unsigned char> old_row(host.begin() + 5 * row_bytes, host.begin() + 6 * row_bytes);
  const std::vector<unsigned char> new_row = random_bytes(rng, row_bytes);
  table.upload(new_row.data(), row_bytes, 5 * row_bytes);  // the table changes behind the cache's back
  const std::vector<std::int64_t> idx = {5};
  const TierBuffer d_idx = device_indices(idx);
  TierBuffer out(Tier::device, row_bytes);
  cache.gather(reinterpret_cast<const std::int64_t*>(d_idx.data()), 1, out.data(), stream.get());
  EXPECT_EQ(out.download(), old_row);  // served from the cache: the copy taken at construction
  cache.reload(stream.get());
  out.poison(poison_byte);
  cache.gather(reinterpret_cast<const std::int64_t*>(d_idx.data()), 1, out.data(), stream.get());
  EXPECT_EQ(out.download(), new_row);
}

TEST(RowCache, OutOfRangeIndices) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  const std::size_t row_bytes = 128;
  const std::size_t num_rows = 50;
  const std::vector<unsigned char> host = random_bytes(rng, num_rows * row_bytes);
  TierBuffer table(Tier::pinned, host.size());
  table.upload(host.data(), host.size());
  test::TestStream stream;
  RowCache cache(table.data(), row_bytes, num_rows, std::vector<std::int64_t>{1, 2, 3}, stream.get());
  const std::vector<std::int32_t> idx = {1, 50, 4, -3};
  const TierBuffer d_idx = device_indices(idx);
  TierBuffer out(Tier::device, idx.size() * row_bytes);
  out.poison(poison_byte);
  EXPECT_GHTIER_ERROR(
      cache.gather(reinterpret_cast<const std::int32_t*>(d_idx.data()), idx.size(), out.data(), stream.get()),
      ErrorCode::invalid_argument);
  std::vector<unsigned char> expected(idx.size() * row_bytes, 0);
  std::memcpy(expected.data(), host.data() + 1 * row_bytes, row_bytes);
  std::memcpy(expected.data() + 2 * row_bytes, host.data() + 4 * row_bytes, row_bytes);
  EXPECT_TRUE(same_rows(expected, out.download(), row_bytes));
  const RowCache::Stats stats = cache.stats(stream.get());
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
  IndexCheck check;
  cache.gather(reinterpret_cast<const std::int32_t*>(d_idx.data()), idx.size(), out.data(), stream.get(), &check);
  EXPECT_EQ(check.bad_index_count(stream.get()), 2u);
}
