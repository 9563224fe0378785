// GPU tests of group_by(): key types x value types x tiers x group counts on both strategies (shared-memory
// partials, and device-memory groups past the shared memory) against a CPU reference on fresh random data;
// filters; keys outside [0, groups); all keys equal and sorted keys (the warp-uniform path); empty input and
// one row; group_by_async into poisoned memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "aggregate_reference.hpp"
#include "ghtier/kernels/group_by.hpp"
#include "test_support.hpp"
#include "tier_buffer.hpp"

namespace ghtier {
namespace {

using test::ReferenceAggregate;
using test::Tier;
using test::TierBuffer;

template <typename K, typename V>
struct GroupByCase {
  std::vector<K> keys;
  std::vector<V> values;
  std::vector<std::int32_t> filter;  // the filter column: rows with 20 <= f <= 70 pass when used
};

template <typename K, typename V>
std::vector<ReferenceAggregate> reference_groups(const GroupByCase<K, V>& data, std::size_t offset, std::size_t rows,
                                                 std::uint32_t groups, bool filtered, std::uint64_t& out_of_range) {
  std::vector<ReferenceAggregate> want(groups);
  out_of_range = 0;
  for (std::size_t i = offset; i < offset + rows; ++i) {
    if (filtered && (data.filter[i] < 20 || data.filter[i] > 70)) continue;
    const auto key = static_cast<std::int64_t>(data.keys[i]);
    if (key < 0 || key >= static_cast<std::int64_t>(groups)) {
      ++out_of_range;
      continue;
    }
    want[static_cast<std::size_t>(key)].add(data.values[i]);
  }
  return want;
}

template <typename V>
void expect_groups(const std::vector<AggregateResult>& got, const std::vector<ReferenceAggregate>& want,
                   const std::string& where) {
  ASSERT_EQ(got.size(), want.size()) << where;
  for (std::size_t g = 0; g < want.size(); ++g) {
    test::expect_aggregate<V>(got[g], want[g], where + " group " + std::to_string(g));
    if (::testing::Test::HasFailure()) return;  // one broken group is enough to read
  }
}

// Keys mostly in [0, groups), a few below and above; values random.
template <typename K, typename V>
GroupByCase<K, V> random_case(std::mt19937_64& rng, std::size_t rows, std::uint32_t groups) {
  GroupByCase<K, V> data;
  data.values = test::random_column<V>(rng, rows);
  data.keys.resize(rows);
  std::uniform_int_distribution<std::int64_t> key(-2, static_cast<std::int64_t>(groups) + 1);
  for (auto& k : data.keys) k = static_cast<K>(key(rng));
  data.filter.resize(rows);
  std::uniform_int_distribution<std::int32_t> percent(0, 99);
  for (auto& f : data.filter) f = percent(rng);
  return data;
}

template <typename K, typename V>
void check_group_by(Tier tier, std::mt19937_64& rng, std::uint32_t groups, std::size_t rows) {
  const GroupByCase<K, V> data = random_case<K, V>(rng, rows + 3, groups);
  TierBuffer keys(tier, data.keys.size() * sizeof(K));
  TierBuffer values(tier, data.values.size() * sizeof(V));
  TierBuffer filter(tier, data.filter.size() * sizeof(std::int32_t));
  if (!test::gpu_reaches(tier)) {
    EXPECT_GHTIER_ERROR((void)group_by(column_view(reinterpret_cast<const K*>(keys.data()), rows),
                                       column_view(reinterpret_cast<const V*>(values.data()), rows), groups),
                        ErrorCode::unsupported);
    return;
  }
  keys.upload(data.keys.data(), data.keys.size() * sizeof(K));
  values.upload(data.values.data(), data.values.size() * sizeof(V));
  filter.upload(data.filter.data(), data.filter.size() * sizeof(std::int32_t));
  test::TestStream stream;
  for (std::size_t offset : {std::size_t{0}, std::size_t{1}}) {
    for (bool filtered : {false, true}) {
      const std::string where =
          std::string(test::to_string(tier)) + " keys " + std::string(to_string(column_type_of<K>)) + " values " +
          std::string(to_string(column_type_of<V>)) + " groups " + std::to_string(groups) + " rows " +
          std::to_string(rows) + " offset " + std::to_string(offset) + (filtered ? " filtered" : "");
      GroupByOptions options;
      if (filtered) {
        options.filter = RangeFilter::int_range(
            column_view(reinterpret_cast<const std::int32_t*>(filter.data()) + offset, rows), 20, 70);
      }
      const GroupByResult got = group_by(column_view(reinterpret_cast<const K*>(keys.data()) + offset, rows),
                                         column_view(reinterpret_cast<const V*>(values.data()) + offset, rows), groups,
                                         options, stream.get());
      std::uint64_t out_of_range = 0;
      const auto want = reference_groups(data, offset, rows, groups, filtered, out_of_range);
      EXPECT_EQ(got.rows_out_of_range, out_of_range) << where;
      expect_groups<V>(got.groups, want, where);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

class GroupByOnTier : public ::testing::TestWithParam<Tier> {};

TEST_P(GroupByOnTier, EveryKeyAndValueTypeMatchesTheCpu) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  const Tier tier = GetParam();
  for (std::uint32_t groups : {1u, 7u, 64u, 4096u}) {
    check_group_by<std::int32_t, std::int32_t>(tier, rng, groups, 50001);
    check_group_by<std::int32_t, float>(tier, rng, groups, 50001);
    check_group_by<std::int64_t, std::int64_t>(tier, rng, groups, 50001);
    check_group_by<std::int64_t, double>(tier, rng, groups, 50001);
  }
  check_group_by<std::int32_t, double>(tier, rng, 33, 4099);
  check_group_by<std::int64_t, float>(tier, rng, 33, 4099);
  check_group_by<std::int64_t, std::int32_t>(tier, rng, 33, 4099);
  check_group_by<std::int32_t, std::int64_t>(tier, rng, 33, 4099);
  if (!test::gpu_reaches(tier)) {
    GTEST_SKIP() << "system memory is not GPU-reachable here (no ATS/HMM); checked that it is refused";
  }
}

INSTANTIATE_TEST_SUITE_P(Tiers, GroupByOnTier,
                         ::testing::Values(Tier::device, Tier::pinned, Tier::managed, Tier::system),
                         [](const auto& info) { return std::string(test::to_string(info.param)); });

TEST(GroupBy, GroupsBeyondSharedMemoryUseDeviceMemory) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  // 32 bytes a group: 100000 groups (3.2 MB) cannot be shared memory on any GPU.
  check_group_by<std::int32_t, double>(Tier::pinned, rng, 100000, 300007);
  check_group_by<std::int64_t, std::int32_t>(Tier::device, rng, 10000, 100003);
}

TEST(GroupBy, AllKeysEqualAndSortedKeys) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  constexpr std::size_t rows = 200003;
  const auto values = test::random_column<float>(rng, rows);
  std::vector<std::int32_t> equal(rows, 5);
  std::vector<std::int32_t> sorted(rows);
  for (std::size_t i = 0; i < rows; ++i) sorted[i] = static_cast<std::int32_t>(i * 100 / rows);
  TierBuffer value_buffer(Tier::pinned, rows * sizeof(float));
  value_buffer.upload(values.data(), rows * sizeof(float));
  for (const auto* keys : {&equal, &sorted}) {
    TierBuffer key_buffer(Tier::pinned, rows * sizeof(std::int32_t));
    key_buffer.upload(keys->data(), rows * sizeof(std::int32_t));
    const GroupByResult got = group_by(column_view(reinterpret_cast<const std::int32_t*>(key_buffer.data()), rows),
                                       column_view(reinterpret_cast<const float*>(value_buffer.data()), rows), 100);
    std::vector<ReferenceAggregate> want(100);
    for (std::size_t i = 0; i < rows; ++i) want[static_cast<std::size_t>((*keys)[i])].add(values[i]);
    EXPECT_EQ(got.rows_out_of_range, 0u);
    expect_groups<float>(got.groups, want, keys == &equal ? "all keys equal" : "sorted keys");
  }
}

TEST(GroupBy, EmptyInputAndOneRow) {
  GHTIER_REQUIRE_GPU();
  const std::int64_t key_host[1] = {3};
  const double value_host[1] = {-2.5};
  TierBuffer keys(Tier::pinned, sizeof(key_host));
  TierBuffer values(Tier::pinned, sizeof(value_host));
  keys.upload(key_host, sizeof(key_host));
  values.upload(value_host, sizeof(value_host));
  const auto* k = reinterpret_cast<const std::int64_t*>(keys.data());
  const auto* v = reinterpret_cast<const double*>(values.data());
  const GroupByResult empty = group_by(column_view(k, 0), column_view(v, 0), 8);
  ASSERT_EQ(empty.groups.size(), 8u);
  for (const auto& g : empty.groups) EXPECT_EQ(g.count, 0u);
  EXPECT_EQ(empty.rows_out_of_range, 0u);
  const GroupByResult one = group_by(column_view(k, 1), column_view(v, 1), 8);
  EXPECT_EQ(one.groups[3].count, 1u);
  EXPECT_EQ(one.groups[3].sum_float, -2.5);
  EXPECT_EQ(one.groups[3].min_float, -2.5);
  EXPECT_EQ(one.groups[3].max_float, -2.5);
  const GroupByResult none_in_range = group_by(column_view(k, 1), column_view(v, 1), 3);
  EXPECT_EQ(none_in_range.rows_out_of_range, 1u);
  for (const auto& g : none_in_range.groups) EXPECT_EQ(g.count, 0u);
}

TEST(GroupBy, AsyncWritesIntoPoisonedMemory) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  constexpr std::uint32_t groups = 50;
  const GroupByCase<std::int32_t, std::int64_t> data = random_case<std::int32_t, std::int64_t>(rng, 30000, groups);
  TierBuffer keys(Tier::managed, data.keys.size() * sizeof(std::int32_t));
  TierBuffer values(Tier::pinned, data.values.size() * sizeof(std::int64_t));
  keys.upload(data.keys.data(), data.keys.size() * sizeof(std::int32_t));
  values.upload(data.values.data(), data.values.size() * sizeof(std::int64_t));
  std::uint64_t out_of_range = 0;
  const auto want = reference_groups(data, 0, data.keys.size(), groups, false, out_of_range);
  test::TestStream stream;
  for (Tier tier : {Tier::device, Tier::pinned, Tier::managed}) {
    TierBuffer results(tier, groups * sizeof(AggregateResult));
    TierBuffer skipped(tier, sizeof(std::uint64_t));
    results.poison();
    skipped.poison();
    group_by_async(column_view(reinterpret_cast<const std::int32_t*>(keys.data()), data.keys.size()),
                   column_view(reinterpret_cast<const std::int64_t*>(values.data()), data.values.size()), groups, {},
                   reinterpret_cast<AggregateResult*>(results.data()), reinterpret_cast<std::uint64_t*>(skipped.data()),
                   stream.get());
    stream.sync();
    std::vector<AggregateResult> got(groups);
    const auto bytes = results.download();
    std::memcpy(got.data(), bytes.data(), bytes.size());
    const auto skipped_bytes = skipped.download();
    std::uint64_t got_skipped = 0;
    std::memcpy(&got_skipped, skipped_bytes.data(), sizeof(got_skipped));
    EXPECT_EQ(got_skipped, out_of_range);
    expect_groups<std::int64_t>(got, want, std::string("async into ") + test::to_string(tier));
  }
}

}  // namespace
}  // namespace ghtier
