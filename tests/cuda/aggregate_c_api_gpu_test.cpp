// GPU tests of the analytics C API end to end: aggregate with a filter, group-by into an array of
// versioned structs, a hash table's create/probe (pairs included)/destroy, and the packed variants, against
// CPU references on fresh random data; pageable memory refused with GHTIER_ERROR_UNSUPPORTED on PCIe.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "c_api_test_runtime.hpp"
#include "ghtier/ghtier.h"
#include "test_support.hpp"
#include "tier_buffer.hpp"

namespace {

using ghtier::test::Tier;
using ghtier::test::TierBuffer;

TEST(AnalyticsCApiGpu, AggregateGroupByJoinAndPacked) {
  GHTIER_REQUIRE_GPU();
  auto rng = ghtier::test::fresh_rng();
  constexpr std::size_t rows = 100003;
  constexpr std::uint32_t groups = 100;
  std::vector<std::int32_t> keys(rows);
  std::vector<std::int64_t> values(rows);
  std::uniform_int_distribution<std::int32_t> key(0, groups - 1);
  std::uniform_int_distribution<std::int64_t> value(-1000000, 1000000);
  for (auto& k : keys) k = key(rng);
  for (auto& v : values) v = value(rng);
  TierBuffer key_buffer(Tier::pinned, rows * 4);
  TierBuffer value_buffer(Tier::pinned, rows * 8);
  key_buffer.upload(keys.data(), rows * 4);
  value_buffer.upload(values.data(), rows * 8);
  const ghtier_column_t key_column{sizeof(ghtier_column_t), key_buffer.data(), rows, GHTIER_COLUMN_INT32, 0};
  const ghtier_column_t value_column{sizeof(ghtier_column_t), value_buffer.data(), rows, GHTIER_COLUMN_INT64, 0};

  // Aggregate of the values whose key is below 50.
  ghtier_range_filter_t filter;
  std::memset(&filter, 0, sizeof filter);
  filter.struct_size = sizeof filter;
  filter.column = &key_column;
  filter.min_int = 0;
  filter.max_int = 49;
  ghtier_aggregate_result_t result;
  std::memset(&result, 0xA5, sizeof result);
  result.struct_size = sizeof result;
  ASSERT_EQ(ghtier_aggregate(ghtier::test::test_runtime(), &value_column, &filter, nullptr, &result), GHTIER_SUCCESS)
      << ghtier_error_message();
  std::uint64_t count = 0;
  std::int64_t sum = 0, low = INT64_MAX, high = INT64_MIN;
  for (std::size_t i = 0; i < rows; ++i) {
    if (keys[i] > 49) continue;
    ++count;
    sum += values[i];
    low = std::min(low, values[i]);
    high = std::max(high, values[i]);
  }
  EXPECT_EQ(result.count, count);
  EXPECT_EQ(result.sum_int, sum);
  EXPECT_EQ(result.min_int, low);
  EXPECT_EQ(result.max_int, high);

  // Group-by into poisoned, versioned structs.
  std::vector<ghtier_aggregate_result_t> per_group(groups);
  std::memset(per_group.data(), 0xA5, per_group.size() * sizeof(ghtier_aggregate_result_t));
  per_group[0].struct_size = sizeof(ghtier_aggregate_result_t);
  uint64_t out_of_range = 12345;
  ASSERT_EQ(ghtier_group_by(ghtier::test::test_runtime(), &key_column, &value_column, groups, nullptr, nullptr,
                            per_group.data(), &out_of_range),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  EXPECT_EQ(out_of_range, 0u);
  std::vector<std::int64_t> group_sum(groups);
  std::vector<std::uint64_t> group_count(groups);
  for (std::size_t i = 0; i < rows; ++i) {
    group_sum[static_cast<std::size_t>(keys[i])] += values[i];
    ++group_count[static_cast<std::size_t>(keys[i])];
  }
  for (std::uint32_t g = 0; g < groups; ++g) {
    EXPECT_EQ(per_group[g].struct_size, sizeof(ghtier_aggregate_result_t));
    EXPECT_EQ(per_group[g].count, group_count[g]) << g;
    EXPECT_EQ(per_group[g].sum_int, group_sum[g]) << g;
  }

  // Join: build on keys 0..59 (payload = key * 10), probe with the key column.
  std::vector<std::int32_t> build(60);
  std::vector<std::int64_t> payload(60);
  for (std::int32_t i = 0; i < 60; ++i) {
    build[static_cast<std::size_t>(i)] = i;
    payload[static_cast<std::size_t>(i)] = 10 * i;
  }
  TierBuffer build_buffer(Tier::device, build.size() * 4);
  TierBuffer payload_buffer(Tier::managed, payload.size() * 8);
  build_buffer.upload(build.data(), build.size() * 4);
  payload_buffer.upload(payload.data(), payload.size() * 8);
  const ghtier_column_t build_column{sizeof(ghtier_column_t), build_buffer.data(), build.size(), GHTIER_COLUMN_INT32,
                                     0};
  const ghtier_column_t payload_column{sizeof(ghtier_column_t), payload_buffer.data(), payload.size(),
                                       GHTIER_COLUMN_INT64, 0};
  ghtier_hash_table_t* table = nullptr;
  ASSERT_EQ(
      ghtier_hash_table_create(ghtier::test::test_runtime(), &build_column, &payload_column, nullptr, nullptr, &table),
      GHTIER_SUCCESS)
      << ghtier_error_message();
  uint64_t capacity = 0;
  ASSERT_EQ(ghtier_hash_table_get_info(table, &capacity, nullptr), GHTIER_SUCCESS);
  EXPECT_EQ(capacity, 128u);
  std::uint64_t matches = 0;
  std::int64_t payload_sum = 0;
  for (auto k : keys) {
    if (k < 60) {
      ++matches;
      payload_sum += 10 * k;
    }
  }
  TierBuffer pairs(Tier::pinned, (matches + 5) * sizeof(ghtier_join_pair_t));
  pairs.poison();
  ghtier_join_result_t join;
  std::memset(&join, 0xA5, sizeof join);
  join.struct_size = sizeof join;
  ASSERT_EQ(ghtier_hash_table_probe(table, &key_column, reinterpret_cast<ghtier_join_pair_t*>(pairs.data()),
                                    matches + 5, nullptr, &join),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  EXPECT_EQ(join.matches, matches);
  EXPECT_EQ(join.payload_sum_int, payload_sum);
  EXPECT_EQ(join.pairs_written, matches);
  EXPECT_EQ(join.pairs_overflowed, 0u);
  const auto* written = reinterpret_cast<const ghtier_join_pair_t*>(pairs.data());
  for (std::uint64_t i = 0; i < join.pairs_written; ++i) {
    ASSERT_LT(written[i].probe_row, rows);
    ASSERT_EQ(static_cast<std::int64_t>(written[i].build_row), keys[written[i].probe_row]);
  }

  // The same key column bit-packed: aggregate and probe decode it in the kernel.
  uint64_t block_count = 0;
  uint64_t word_count = 0;
  ASSERT_EQ(ghtier_bitpacked_get_size(keys.data(), GHTIER_COLUMN_INT32, rows, &block_count, &word_count),
            GHTIER_SUCCESS);
  TierBuffer headers(Tier::pinned, block_count * sizeof(ghtier_bitpack_block_header_t));
  TierBuffer words(Tier::pinned, word_count * 4);
  ghtier_bitpacked_column_t packed{};
  packed.struct_size = sizeof(packed);
  ASSERT_EQ(ghtier_bitpacked_pack(keys.data(), GHTIER_COLUMN_INT32, rows,
                                  reinterpret_cast<ghtier_bitpack_block_header_t*>(headers.data()), block_count,
                                  reinterpret_cast<uint32_t*>(words.data()), word_count, &packed),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  ghtier_aggregate_result_t packed_result;
  std::memset(&packed_result, 0xA5, sizeof packed_result);
  packed_result.struct_size = sizeof packed_result;
  ASSERT_EQ(ghtier_bitpacked_aggregate(ghtier::test::test_runtime(), &packed, nullptr, nullptr, &packed_result),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  std::int64_t key_sum = 0;
  for (auto k : keys) key_sum += k;
  EXPECT_EQ(packed_result.count, rows);
  EXPECT_EQ(packed_result.sum_int, key_sum);
  ghtier_join_result_t packed_join;
  std::memset(&packed_join, 0xA5, sizeof packed_join);
  packed_join.struct_size = sizeof packed_join;
  ASSERT_EQ(ghtier_hash_table_probe_bitpacked(table, &packed, nullptr, 0, nullptr, &packed_join), GHTIER_SUCCESS)
      << ghtier_error_message();
  EXPECT_EQ(packed_join.matches, matches);
  EXPECT_EQ(packed_join.payload_sum_int, payload_sum);
  EXPECT_EQ(packed_join.pairs_written, 0u);
  EXPECT_EQ(ghtier_hash_table_destroy(table), GHTIER_SUCCESS);
  EXPECT_EQ(ghtier_hash_table_destroy(table), GHTIER_ERROR_INVALID_ARGUMENT);  // twice: an error, not a crash
  EXPECT_EQ(ghtier_hash_table_get_info(table, nullptr, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);

  if (!ghtier::test::gpu_reaches(Tier::system)) {
    const ghtier_column_t pageable{sizeof(ghtier_column_t), values.data(), rows, GHTIER_COLUMN_INT64, 0};
    EXPECT_EQ(ghtier_aggregate(ghtier::test::test_runtime(), &pageable, nullptr, nullptr, &result),
              GHTIER_ERROR_UNSUPPORTED);
    EXPECT_NE(std::string(ghtier_error_message()).find("pageable"), std::string::npos) << ghtier_error_message();
  }
}

}  // namespace
