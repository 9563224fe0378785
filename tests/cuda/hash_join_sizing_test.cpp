// CPU tests (CI) of the hash join's decisions: the table layout (capacity a power of two within the load
// factor, slot sizes, refusals), the slot hash, the order-preserving keys behind min/max, and the argument
// checks that fail before any CUDA call.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "cuda/hash_table_slots.hpp"
#include "cuda/ordered_key.hpp"
#include "ghtier/error.hpp"
#include "ghtier/kernels/hash_join.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

TEST(HashTableLayout, CapacityIsThePowerOfTwoThatKeepsTheLoadFactor) {
  auto rng = test::fresh_rng();
  std::uniform_int_distribution<std::uint64_t> rows_of(0, 50'000'000);
  std::uniform_real_distribution<double> factor_of(0.05, 0.9);
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t rows = rows_of(rng);
    const double factor = factor_of(rng);
    const HashTableLayout layout = hash_table_layout(rows, ColumnType::int32, false, factor);
    ASSERT_TRUE(std::has_single_bit(layout.capacity)) << layout.capacity;
    ASSERT_GE(layout.capacity, 16u);
    ASSERT_GT(layout.capacity, rows);
    ASSERT_LE(static_cast<double>(rows) / static_cast<double>(layout.capacity), factor + 1e-12);
    // The smallest such power of two: half of it would break the load factor (or the minimum).
    if (layout.capacity > 16) {
      ASSERT_GT(static_cast<double>(rows) / static_cast<double>(layout.capacity / 2), factor);
    }
    ASSERT_DOUBLE_EQ(layout.load_factor, static_cast<double>(rows) / static_cast<double>(layout.capacity));
  }
}

TEST(HashTableLayout, SmallTablesAndSlotSizes) {
  EXPECT_EQ(hash_table_layout(0, ColumnType::int32, false).capacity, 16u);
  EXPECT_EQ(hash_table_layout(8, ColumnType::int32, false).capacity, 16u);
  EXPECT_EQ(hash_table_layout(9, ColumnType::int32, false).capacity, 32u);
  EXPECT_EQ(hash_table_layout(1000, ColumnType::int32, false, 0.9).capacity, 2048u);
  const HashTableLayout narrow = hash_table_layout(1000, ColumnType::int32, false);
  EXPECT_EQ(narrow.slot_bytes, 8u);
  EXPECT_EQ(narrow.payload_bytes, 0u);
  EXPECT_EQ(narrow.bytes, 2048u * 8);
  const HashTableLayout wide = hash_table_layout(1000, ColumnType::int64, true);
  EXPECT_EQ(wide.slot_bytes, 16u);
  EXPECT_EQ(wide.payload_bytes, 8u);
  EXPECT_EQ(wide.bytes, 2048u * 24);
  EXPECT_EQ(hash_table_layout(max_hash_join_build_rows, ColumnType::int32, false).capacity, 1ull << 33);
}

TEST(HashTableLayout, RefusesWhatItCannotHold) {
  EXPECT_GHTIER_ERROR((void)hash_table_layout(10, ColumnType::float32, false), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)hash_table_layout(10, ColumnType::float64, false), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)hash_table_layout(10, ColumnType::int32, false, 0.0), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)hash_table_layout(10, ColumnType::int32, false, -0.5), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)hash_table_layout(10, ColumnType::int32, false, 0.95), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)hash_table_layout(10, ColumnType::int32, false, std::nan("")), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)hash_table_layout(max_hash_join_build_rows + 1, ColumnType::int64, false),
                      ErrorCode::invalid_argument);
}

// The ends of the documented range (0, 0.9]: the largest factor exactly, and factors so small that the
// slot count leaves 64 bits (a double cast to an integer out of range: undefined, gave a nearly full table).
TEST(HashTableLayout, EndsOfTheLoadFactorRange) {
  const HashTableLayout at_max = hash_table_layout(9, ColumnType::int32, false, max_hash_join_load_factor);
  EXPECT_EQ(at_max.capacity, 16u);  // 9 / 0.9 = 10 slots -> 16
  EXPECT_LE(at_max.load_factor, max_hash_join_load_factor);
  EXPECT_EQ(hash_table_layout(max_hash_join_build_rows, ColumnType::int64, true, max_hash_join_load_factor).capacity,
            1ull << 33);
  // Small factors that still fit: the load factor holds and the capacity is the smallest that does it.
  for (const double factor : {1e-3, 1e-9, 1e-13}) {
    for (const std::uint64_t rows : {std::uint64_t{1}, std::uint64_t{3}, std::uint64_t{1000}}) {
      const HashTableLayout layout = hash_table_layout(rows, ColumnType::int64, true, factor);
      EXPECT_TRUE(std::has_single_bit(layout.capacity)) << rows << " @ " << factor;
      EXPECT_LE(layout.load_factor, factor) << rows << " @ " << factor;
      EXPECT_GT(static_cast<double>(rows) / static_cast<double>(layout.capacity / 2), factor);
      EXPECT_EQ(layout.bytes, layout.capacity * 24);
      EXPECT_EQ(layout.bytes / 24, layout.capacity);  // no wrap
    }
  }
  // No rows: the minimum table at any factor.
  EXPECT_EQ(hash_table_layout(0, ColumnType::int32, false, std::numeric_limits<double>::denorm_min()).capacity, 16u);
  // Too small to hold in 64-bit sizes: refused with a reason, never a wrapped or nearly full table.
  for (const double factor : {std::numeric_limits<double>::denorm_min(), 1e-300, 1e-18}) {
    EXPECT_GHTIER_ERROR((void)hash_table_layout(1000, ColumnType::int32, false, factor), ErrorCode::invalid_argument);
    EXPECT_GHTIER_ERROR((void)hash_table_layout(max_hash_join_build_rows, ColumnType::int64, true, factor),
                        ErrorCode::invalid_argument);
  }
}

TEST(HashTableSlots, SequentialKeysSpreadOverTheSlots) {
  // 4096 sequential keys into 8192 slots: a good mix leaves no long run of occupied home slots.
  constexpr std::uint64_t capacity = 8192;
  std::vector<int> hits(capacity, 0);
  for (std::int64_t key = 0; key < 4096; ++key) ++hits[detail::home_slot(key, capacity)];
  int most = 0;
  for (int h : hits) most = std::max(most, h);
  EXPECT_LE(most, 8);
  // int32 and int64 keys of the same value land on the same slot; negative keys too.
  EXPECT_EQ(detail::home_slot(std::int64_t{std::int32_t{-5}}, capacity), detail::home_slot(-5, capacity));
  EXPECT_LT(detail::home_slot(std::numeric_limits<std::int64_t>::min(), capacity), capacity);
}

TEST(OrderedKey, PreservesTheOrderOfIntegersAndDoubles) {
  auto rng = test::fresh_rng();
  std::uniform_int_distribution<std::int64_t> any_int(std::numeric_limits<std::int64_t>::min(),
                                                      std::numeric_limits<std::int64_t>::max());
  std::vector<std::int64_t> ints{std::numeric_limits<std::int64_t>::min(), -1, 0, 1,
                                 std::numeric_limits<std::int64_t>::max()};
  for (int i = 0; i < 1000; ++i) ints.push_back(any_int(rng));
  for (std::int64_t a : ints) {
    ASSERT_EQ(detail::int_from_ordered_key(detail::ordered_key(a)), a);
    for (std::int64_t b : {ints[0], ints[3], ints[7], ints[100]}) {
      ASSERT_EQ(a < b, detail::ordered_key(a) < detail::ordered_key(b)) << a << " " << b;
    }
  }
  std::uniform_real_distribution<double> any_double(-1e300, 1e300);
  std::vector<double> doubles{
      -std::numeric_limits<double>::infinity(), -1e-310, -0.0, 0.0, 1e-310, std::numeric_limits<double>::max(),
      std::numeric_limits<double>::infinity()};
  for (int i = 0; i < 1000; ++i) doubles.push_back(any_double(rng));
  for (double a : doubles) {
    const double back = detail::double_from_ordered_key(detail::ordered_key(a));
    ASSERT_EQ(std::bit_cast<std::uint64_t>(back), std::bit_cast<std::uint64_t>(a));
    for (double b : doubles) {
      if (a == b) continue;  // -0.0 == 0.0 as doubles; their keys order -0.0 first
      ASSERT_EQ(a < b, detail::ordered_key(a) < detail::ordered_key(b)) << a << " " << b;
    }
    // The identities stay apart from every real value.
    ASSERT_NE(detail::ordered_key(a), detail::ordered_key_min_identity);
    ASSERT_NE(detail::ordered_key(a), detail::ordered_key_max_identity);
  }
  EXPECT_LT(detail::ordered_key(-0.0), detail::ordered_key(0.0));
}

TEST(HashJoinTable, RefusesBadArgumentsBeforeTouchingTheGpu) {
  const float float_keys[4] = {1, 2, 3, 4};
  EXPECT_GHTIER_ERROR(HashJoinTable(column_view(float_keys, 4), std::nullopt), ErrorCode::invalid_argument);
  const std::int32_t keys[4] = {1, 2, 3, 4};
  const std::int64_t payload[3] = {1, 2, 3};
  EXPECT_GHTIER_ERROR(HashJoinTable(column_view(keys, 4), column_view(payload, 3)), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(HashJoinTable(ColumnView{nullptr, 4, ColumnType::int32}, std::nullopt),
                      ErrorCode::invalid_argument);
  const auto* misaligned = reinterpret_cast<const std::int64_t*>(reinterpret_cast<const char*>(payload) + 4);
  EXPECT_GHTIER_ERROR(HashJoinTable(column_view(misaligned, 1), std::nullopt), ErrorCode::invalid_argument);
  HashJoinOptions options;
  options.max_load_factor = 1.5;
  EXPECT_GHTIER_ERROR(HashJoinTable(column_view(keys, 4), std::nullopt, nullptr, options), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace ghtier
