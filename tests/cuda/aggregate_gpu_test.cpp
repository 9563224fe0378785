// GPU tests of aggregate(): every column type x every tier x no filter / a filter on the values / a filter
// on another column, against a sequential CPU reference on fresh random data, at lengths and offsets that
// exercise the vector head, body and tail (and columns of different alignment phases); NaN, int64
// wrap-around, empty results; aggregate_async into poisoned memory of each tier; refusal of pageable memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "aggregate_reference.hpp"
#include "ghtier/kernels/aggregate.hpp"
#include "test_support.hpp"
#include "tier_buffer.hpp"

namespace ghtier {
namespace {

using test::ReferenceAggregate;
using test::Tier;
using test::TierBuffer;

constexpr Tier all_tiers[] = {Tier::device, Tier::pinned, Tier::managed, Tier::system};
constexpr std::size_t lengths[] = {0, 1, 3, 4, 5, 17, 1023, 4097, 100003};
constexpr std::size_t max_length = 100003;
constexpr std::size_t offsets[] = {0, 1, 3};  // in values: 16-byte aligned, then misaligned starts

template <typename T>
std::string describe(Tier tier, std::size_t rows, std::size_t offset, const char* filter) {
  return std::string(test::to_string(tier)) + " " + std::string(to_string(column_type_of<T>)) + " rows " +
         std::to_string(rows) + " offset " + std::to_string(offset) + " filter " + filter;
}

// Bounds that keep about the middle half of the values.
template <typename T>
RangeFilter middle_half_filter(std::vector<T> values) {
  if (values.empty()) values.push_back(T{});
  std::sort(values.begin(), values.end());
  const T lo = values[values.size() / 4];
  const T hi = values[values.size() * 3 / 4];
  if constexpr (std::is_integral_v<T>) {
    return RangeFilter::int_range(lo, hi);
  } else {
    return RangeFilter::float_range(lo, hi);
  }
}

template <typename T>
void check_type_on_tier(Tier tier, std::mt19937_64& rng) {
  const std::vector<T> host = test::random_column<T>(rng, max_length + 4);
  TierBuffer buffer(tier, host.size() * sizeof(T));
  // The other filter column: int32 values in [0, 100), kept when in [20, 70].
  std::vector<std::int32_t> other(max_length + 4);
  std::uniform_int_distribution<std::int32_t> percent(0, 99);
  for (auto& v : other) v = percent(rng);
  TierBuffer other_buffer(tier, other.size() * sizeof(std::int32_t));
  if (!test::gpu_reaches(tier)) {
    std::memcpy(buffer.data(), host.data(), host.size() * sizeof(T));
    EXPECT_GHTIER_ERROR((void)aggregate(column_view(reinterpret_cast<const T*>(buffer.data()), 100)),
                        ErrorCode::unsupported);
    return;
  }
  buffer.upload(host.data(), host.size() * sizeof(T));
  other_buffer.upload(other.data(), other.size() * sizeof(std::int32_t));
  const auto* device_values = reinterpret_cast<const T*>(buffer.data());
  const auto* device_other = reinterpret_cast<const std::int32_t*>(other_buffer.data());
  test::TestStream stream;
  for (std::size_t rows : lengths) {
    for (std::size_t offset : offsets) {
      const ColumnView values = column_view(device_values + offset, rows);
      const std::vector<T> slice(host.begin() + static_cast<std::ptrdiff_t>(offset),
                                 host.begin() + static_cast<std::ptrdiff_t>(offset + rows));
      {  // no filter
        ReferenceAggregate want;
        for (T v : slice) want.add(v);
        test::expect_aggregate<T>(aggregate(values, {}, stream.get()), want, describe<T>(tier, rows, offset, "none"));
      }
      {  // on the values themselves
        AggregateOptions options;
        options.filter = middle_half_filter(slice);
        ReferenceAggregate want;
        for (T v : slice) {
          const bool keep = std::is_integral_v<T> ? (static_cast<std::int64_t>(v) >= options.filter->min_int &&
                                                     static_cast<std::int64_t>(v) <= options.filter->max_int)
                                                  : (static_cast<double>(v) >= options.filter->min_float &&
                                                     static_cast<double>(v) <= options.filter->max_float);
          if (keep) want.add(v);
        }
        test::expect_aggregate<T>(aggregate(values, options, stream.get()), want,
                                  describe<T>(tier, rows, offset, "values"));
      }
      // On another column: the same phase (offset) and a different one (offset + 1).
      for (std::size_t other_offset : {offset, offset + 1}) {
        AggregateOptions options;
        options.filter = RangeFilter::int_range(column_view(device_other + other_offset, rows), 20, 70);
        ReferenceAggregate want;
        for (std::size_t i = 0; i < rows; ++i) {
          const std::int32_t f = other[other_offset + i];
          if (f >= 20 && f <= 70) want.add(slice[i]);
        }
        test::expect_aggregate<T>(aggregate(values, options, stream.get()), want,
                                  describe<T>(tier, rows, offset, other_offset == offset ? "other" : "other, phase+1"));
      }
    }
  }
}

class AggregateOnTier : public ::testing::TestWithParam<Tier> {};

TEST_P(AggregateOnTier, EveryTypeMatchesTheCpu) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  check_type_on_tier<std::int32_t>(GetParam(), rng);
  check_type_on_tier<std::int64_t>(GetParam(), rng);
  check_type_on_tier<float>(GetParam(), rng);
  check_type_on_tier<double>(GetParam(), rng);
  if (!test::gpu_reaches(GetParam())) {
    GTEST_SKIP() << "system memory is not GPU-reachable here (no ATS/HMM); checked that it is refused";
  }
}

INSTANTIATE_TEST_SUITE_P(Tiers, AggregateOnTier, ::testing::ValuesIn(all_tiers),
                         [](const auto& info) { return std::string(test::to_string(info.param)); });

TEST(Aggregate, NanIsSkippedByMinMaxAndReachesTheSum) {
  GHTIER_REQUIRE_GPU();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> host{3.5f, nan, -2.0f, 7.25f, nan, 0.5f, 1.0f, -9.0f, 4.0f};
  TierBuffer buffer(Tier::pinned, host.size() * sizeof(float));
  buffer.upload(host.data(), host.size() * sizeof(float));
  const auto* data = reinterpret_cast<const float*>(buffer.data());
  const AggregateResult mixed = aggregate(column_view(data, host.size()));
  EXPECT_EQ(mixed.count, host.size());
  EXPECT_TRUE(std::isnan(mixed.sum_float));
  EXPECT_EQ(mixed.min_float, -9.0);
  EXPECT_EQ(mixed.max_float, 7.25);
  const AggregateResult only_nan = aggregate(column_view(data + 1, 1));
  EXPECT_EQ(only_nan.count, 1u);
  EXPECT_TRUE(std::isnan(only_nan.min_float));
  EXPECT_TRUE(std::isnan(only_nan.max_float));
  // A filter never keeps a NaN.
  AggregateOptions options;
  options.filter = RangeFilter::float_range(-100, 100);
  const AggregateResult filtered = aggregate(column_view(data, host.size()), options);
  EXPECT_EQ(filtered.count, host.size() - 2);
  EXPECT_DOUBLE_EQ(filtered.sum_float, 3.5 - 2.0 + 7.25 + 0.5 + 1.0 - 9.0 + 4.0);
}

TEST(Aggregate, Int64SumsWrapAndExtremesSurvive) {
  GHTIER_REQUIRE_GPU();
  constexpr auto max64 = std::numeric_limits<std::int64_t>::max();
  constexpr auto min64 = std::numeric_limits<std::int64_t>::min();
  std::vector<std::int64_t> host(1000, max64);
  host[500] = min64;
  TierBuffer buffer(Tier::device, host.size() * sizeof(std::int64_t));
  buffer.upload(host.data(), host.size() * sizeof(std::int64_t));
  ReferenceAggregate want;
  for (auto v : host) want.add(v);
  const auto* data = reinterpret_cast<const std::int64_t*>(buffer.data());
  test::expect_aggregate<std::int64_t>(aggregate(column_view(data, host.size())), want, "extremes");
  // All values equal to the largest int64: its order key is the min identity, still reported right.
  const AggregateResult all_max = aggregate(column_view(data, 400));
  EXPECT_EQ(all_max.min_int, max64);
  EXPECT_EQ(all_max.max_int, max64);
  const AggregateResult just_min = aggregate(column_view(data + 500, 1));
  EXPECT_EQ(just_min.min_int, min64);
  EXPECT_EQ(just_min.max_int, min64);
}

TEST(Aggregate, NothingPassesTheFilter) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  const auto host = test::random_column<double>(rng, 5000);
  TierBuffer buffer(Tier::managed, host.size() * sizeof(double));
  buffer.upload(host.data(), host.size() * sizeof(double));
  AggregateOptions options;
  options.filter = RangeFilter::float_range(5000.0, 6000.0);  // the values lie in [-1000, 1000)
  const AggregateResult r =
      aggregate(column_view(reinterpret_cast<const double*>(buffer.data()), host.size()), options);
  EXPECT_EQ(r.count, 0u);
  EXPECT_EQ(r.sum_float, 0.0);
  EXPECT_EQ(r.min_float, 0.0);
  EXPECT_EQ(r.max_float, 0.0);
}

TEST(Aggregate, AsyncWritesIntoEveryGpuWritableTier) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  const auto host = test::random_column<std::int32_t>(rng, 77777);
  TierBuffer buffer(Tier::pinned, host.size() * sizeof(std::int32_t));
  buffer.upload(host.data(), host.size() * sizeof(std::int32_t));
  ReferenceAggregate want;
  for (auto v : host) want.add(v);
  test::TestStream stream;
  for (Tier tier : {Tier::device, Tier::pinned, Tier::managed}) {
    TierBuffer out(tier, sizeof(AggregateResult));
    out.poison();
    aggregate_async(column_view(reinterpret_cast<const std::int32_t*>(buffer.data()), host.size()), {},
                    reinterpret_cast<AggregateResult*>(out.data()), stream.get());
    stream.sync();
    AggregateResult got;
    const auto bytes = out.download(0, sizeof(got));
    std::memcpy(&got, bytes.data(), sizeof(got));
    test::expect_aggregate<std::int32_t>(got, want, std::string("async into ") + test::to_string(tier));
  }
  if (!test::gpu_reaches(Tier::system)) {
    AggregateResult pageable;
    EXPECT_GHTIER_ERROR(aggregate_async(column_view(reinterpret_cast<const std::int32_t*>(buffer.data()), host.size()),
                                        {}, &pageable, stream.get()),
                        ErrorCode::unsupported);
  }
}

TEST(Aggregate, RefusesPageableFilterColumnsWhereTheGpuCannotReachThem) {
  GHTIER_REQUIRE_GPU();
  if (test::gpu_reaches(Tier::system)) GTEST_SKIP() << "this GPU reads pageable memory (ATS/HMM)";
  std::vector<std::int32_t> pageable(100, 1);
  TierBuffer buffer(Tier::device, 100 * sizeof(std::int32_t));
  AggregateOptions options;
  options.filter = RangeFilter::int_range(column_view(pageable.data(), pageable.size()), 0, 1);
  try {
    (void)aggregate(column_view(reinterpret_cast<const std::int32_t*>(buffer.data()), 100), options);
    ADD_FAILURE() << "expected Error(unsupported)";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported);
    EXPECT_NE(std::string(e.what()).find("filter column"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ghtier
