// CPU references for the GPU tests of aggregate, group-by and the packed kernels: random columns of each
// type, a sequential aggregate with the library's documented semantics (int64 wrap-around sums, NaN skipped
// by min/max), and the comparison of an AggregateResult against it.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "ghtier/kernels/aggregate.hpp"

namespace ghtier::test {

/// Says, once per call site's test, why the system tier ran only as a refusal check on this machine.
inline void note_system_tier_refused(const char* test) {
  std::printf(
      "[ note     ] %s: system (malloc) memory is not GPU-reachable here (no ATS/HMM): checked that it "
      "is refused with Error(unsupported) instead of running the kernels on it\n",
      test);
}

/// Random values: integers over their whole range (so int64 sums wrap), floats in a range where sums stay
/// well conditioned.
template <typename T>
std::vector<T> random_column(std::mt19937_64& rng, std::size_t rows) {
  std::vector<T> values(rows);
  if constexpr (std::is_integral_v<T>) {
    std::uniform_int_distribution<T> any(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    for (auto& v : values) v = any(rng);
  } else {
    std::uniform_real_distribution<T> any(T(-1000), T(1000));
    for (auto& v : values) v = any(rng);
  }
  return values;
}

struct ReferenceAggregate {
  std::uint64_t count = 0;
  std::uint64_t sum_int = 0;  // wraps like the GPU's
  long double sum_float = 0;
  long double abs_sum = 0;  // scale of the rounding error of a floating-point sum
  bool has_order = false;
  std::int64_t min_int = std::numeric_limits<std::int64_t>::max();
  std::int64_t max_int = std::numeric_limits<std::int64_t>::min();
  double min_float = std::numeric_limits<double>::infinity();
  double max_float = -std::numeric_limits<double>::infinity();

  template <typename T>
  void add(T value) {
    ++count;
    if constexpr (std::is_integral_v<T>) {
      const auto v = static_cast<std::int64_t>(value);
      sum_int += static_cast<std::uint64_t>(v);
      min_int = std::min(min_int, v);
      max_int = std::max(max_int, v);
      has_order = true;
    } else {
      const double v = static_cast<double>(value);
      sum_float += v;
      abs_sum += std::fabs(v);
      if (!std::isnan(v)) {
        min_float = std::min(min_float, v);
        max_float = std::max(max_float, v);
        has_order = true;
      }
    }
  }
};

/// Compares a GPU result with the reference of a column of type T.
template <typename T>
void expect_aggregate(const AggregateResult& got, const ReferenceAggregate& want, const std::string& where) {
  SCOPED_TRACE(where);
  ASSERT_EQ(got.count, want.count);
  if constexpr (std::is_integral_v<T>) {
    EXPECT_EQ(got.sum_int, static_cast<std::int64_t>(want.sum_int));
    EXPECT_EQ(got.sum_float, static_cast<double>(got.sum_int));
    if (want.count == 0) {
      EXPECT_EQ(got.min_int, 0);
      EXPECT_EQ(got.max_int, 0);
    } else {
      EXPECT_EQ(got.min_int, want.min_int);
      EXPECT_EQ(got.max_int, want.max_int);
      EXPECT_EQ(got.min_float, static_cast<double>(want.min_int));
      EXPECT_EQ(got.max_float, static_cast<double>(want.max_int));
    }
  } else {
    EXPECT_EQ(got.sum_int, 0);
    EXPECT_EQ(got.min_int, 0);
    EXPECT_EQ(got.max_int, 0);
    if (std::isnan(static_cast<double>(want.sum_float))) {
      EXPECT_TRUE(std::isnan(got.sum_float));
    } else {
      const double tolerance = 1e-9 * static_cast<double>(want.abs_sum) + 1e-9;
      EXPECT_NEAR(got.sum_float, static_cast<double>(want.sum_float), tolerance);
    }
    if (want.count == 0) {
      EXPECT_EQ(got.min_float, 0.0);
      EXPECT_EQ(got.max_float, 0.0);
    } else if (!want.has_order) {
      EXPECT_TRUE(std::isnan(got.min_float));
      EXPECT_TRUE(std::isnan(got.max_float));
    } else {
      EXPECT_EQ(got.min_float, want.min_float);
      EXPECT_EQ(got.max_float, want.max_float);
    }
  }
}

}  // namespace ghtier::test
