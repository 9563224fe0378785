// CPU tests (CI) of the analytics C API (ghtier_kernels.h, second section): argument and struct_size
// checks that fail before any CUDA call, with a status and a message naming the argument; the packer's
// round trip, validation and the table layout through C.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "c_api_test_runtime.hpp"
#include "ghtier/ghtier.h"
#include "test_support.hpp"

namespace {

void expect_failure(ghtier_status_t status, ghtier_status_t expected, const char* fragment) {
  EXPECT_EQ(status, expected) << ghtier_error_message();
  EXPECT_NE(std::string(ghtier_error_message()).find(fragment), std::string::npos) << ghtier_error_message();
}

ghtier_aggregate_result_t result_struct() {
  ghtier_aggregate_result_t r;
  std::memset(&r, 0, sizeof r);
  r.struct_size = sizeof r;
  return r;
}

TEST(AnalyticsCApi, AggregateChecksItsArguments) {
  std::int32_t values[4] = {1, 2, 3, 4};
  ghtier_column_t column{sizeof(ghtier_column_t), values, 4, GHTIER_COLUMN_INT32, 0};
  ghtier_aggregate_result_t result = result_struct();
  expect_failure(ghtier_aggregate(ghtier::test::test_runtime(), nullptr, nullptr, nullptr, &result),
                 GHTIER_ERROR_INVALID_ARGUMENT, "values is NULL");
  expect_failure(ghtier_aggregate(ghtier::test::test_runtime(), &column, nullptr, nullptr, nullptr),
                 GHTIER_ERROR_INVALID_ARGUMENT, "result is NULL");
  ghtier_column_t bad_type = column;
  bad_type.type = 9;
  expect_failure(ghtier_aggregate(ghtier::test::test_runtime(), &bad_type, nullptr, nullptr, &result),
                 GHTIER_ERROR_INVALID_ARGUMENT, "values->type");
  ghtier_aggregate_result_t bad_size = result_struct();
  bad_size.struct_size = 12;
  expect_failure(ghtier_aggregate(ghtier::test::test_runtime(), &column, nullptr, nullptr, &bad_size),
                 GHTIER_ERROR_INVALID_ARGUMENT, "result->struct_size");
  ghtier_range_filter_t filter;
  std::memset(&filter, 0, sizeof filter);
  filter.struct_size = sizeof filter;
  filter.float_bounds = 2;
  expect_failure(ghtier_aggregate(ghtier::test::test_runtime(), &column, &filter, nullptr, &result),
                 GHTIER_ERROR_INVALID_ARGUMENT, "float_bounds");
  filter.float_bounds = 1;  // float bounds on an int32 column
  expect_failure(ghtier_aggregate(ghtier::test::test_runtime(), &column, &filter, nullptr, &result),
                 GHTIER_ERROR_INVALID_ARGUMENT, "float_range");
  filter.struct_size = 8;
  expect_failure(ghtier_aggregate(ghtier::test::test_runtime(), &column, &filter, nullptr, &result),
                 GHTIER_ERROR_INVALID_ARGUMENT, "filter->struct_size");
  ghtier_column_t null_data{sizeof(ghtier_column_t), nullptr, 4, GHTIER_COLUMN_INT32, 0};
  expect_failure(ghtier_aggregate(ghtier::test::test_runtime(), &null_data, nullptr, nullptr, &result),
                 GHTIER_ERROR_INVALID_ARGUMENT, "null data");
}

TEST(AnalyticsCApi, GroupByAndHashTableCheckTheirArguments) {
  std::int32_t keys[4] = {0, 1, 2, 3};
  double values[4] = {};
  ghtier_column_t key_column{sizeof(ghtier_column_t), keys, 4, GHTIER_COLUMN_INT32, 0};
  ghtier_column_t value_column{sizeof(ghtier_column_t), values, 4, GHTIER_COLUMN_FLOAT64, 0};
  std::vector<ghtier_aggregate_result_t> results(4, result_struct());
  expect_failure(ghtier_group_by(ghtier::test::test_runtime(), &key_column, &value_column, 0, nullptr, nullptr,
                                 results.data(), nullptr),
                 GHTIER_ERROR_INVALID_ARGUMENT, "groups");
  expect_failure(ghtier_group_by(ghtier::test::test_runtime(), &value_column, &value_column, 4, nullptr, nullptr,
                                 results.data(), nullptr),
                 GHTIER_ERROR_INVALID_ARGUMENT, "keys");
  expect_failure(
      ghtier_group_by(ghtier::test::test_runtime(), &key_column, &value_column, 4, nullptr, nullptr, nullptr, nullptr),
      GHTIER_ERROR_INVALID_ARGUMENT, "results is NULL");
  ghtier_hash_table_t* table = reinterpret_cast<ghtier_hash_table_t*>(0x1);
  expect_failure(
      ghtier_hash_table_create(ghtier::test::test_runtime(), &value_column, nullptr, nullptr, nullptr, &table),
      GHTIER_ERROR_INVALID_ARGUMENT, "int32 or int64");
  EXPECT_EQ(table, nullptr) << "a failed create leaves NULL behind";
  ghtier_hash_join_options_t options{sizeof(ghtier_hash_join_options_t), 0.99};
  expect_failure(
      ghtier_hash_table_create(ghtier::test::test_runtime(), &key_column, nullptr, &options, nullptr, &table),
      GHTIER_ERROR_INVALID_ARGUMENT, "max_load_factor");
  expect_failure(
      ghtier_hash_table_create(ghtier::test::test_runtime(), &key_column, nullptr, nullptr, nullptr, nullptr),
      GHTIER_ERROR_INVALID_ARGUMENT, "table is NULL");
  EXPECT_EQ(ghtier_hash_table_destroy(nullptr), GHTIER_SUCCESS);
  ghtier_join_result_t join;
  std::memset(&join, 0, sizeof join);
  join.struct_size = sizeof join;
  expect_failure(ghtier_hash_table_probe(nullptr, &key_column, nullptr, 0, nullptr, &join),
                 GHTIER_ERROR_INVALID_ARGUMENT, "table is NULL");
  uint64_t capacity = 0;
  uint64_t bytes = 0;
  EXPECT_EQ(ghtier_hash_table_get_layout(1000, GHTIER_COLUMN_INT64, 1, 0.0, &capacity, &bytes), GHTIER_SUCCESS);
  EXPECT_EQ(capacity, 2048u);
  EXPECT_EQ(bytes, 2048u * 24);
  expect_failure(ghtier_hash_table_get_layout(10, GHTIER_COLUMN_FLOAT32, 0, 0.5, &capacity, &bytes),
                 GHTIER_ERROR_INVALID_ARGUMENT, "int32 or int64");
}

TEST(AnalyticsCApi, PackValidateUnpack) {
  auto rng = ghtier::test::fresh_rng();
  std::vector<std::int64_t> values(5000);
  std::uniform_int_distribution<std::int64_t> any(-100000, 100000);
  for (auto& v : values) v = any(rng);
  uint64_t blocks = 0;
  uint64_t words = 0;
  ASSERT_EQ(ghtier_bitpacked_get_size(values.data(), GHTIER_COLUMN_INT64, values.size(), &blocks, &words),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  EXPECT_EQ(blocks, 5u);
  std::vector<ghtier_bitpack_block_header_t> headers(blocks);
  std::vector<uint32_t> packed(words);
  ghtier_bitpacked_column_t column{};
  column.struct_size = sizeof(column);
  ASSERT_EQ(ghtier_bitpacked_pack(values.data(), GHTIER_COLUMN_INT64, values.size(), headers.data(), blocks,
                                  packed.data(), words, &column),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  EXPECT_EQ(column.rows, values.size());
  EXPECT_EQ(column.value_type, GHTIER_COLUMN_INT64);
  EXPECT_EQ(ghtier_bitpacked_validate(&column), GHTIER_SUCCESS) << ghtier_error_message();
  std::vector<std::int64_t> out(values.size(), 7);
  ASSERT_EQ(ghtier_bitpacked_unpack(&column, out.data(), out.size()), GHTIER_SUCCESS) << ghtier_error_message();
  EXPECT_EQ(out, values);
  expect_failure(ghtier_bitpacked_pack(values.data(), GHTIER_COLUMN_INT64, values.size(), headers.data(), blocks - 1,
                                       packed.data(), words, &column),
                 GHTIER_ERROR_INVALID_ARGUMENT, "blocks_out");
  expect_failure(ghtier_bitpacked_pack(values.data(), GHTIER_COLUMN_FLOAT64, values.size(), headers.data(), blocks,
                                       packed.data(), words, &column),
                 GHTIER_ERROR_INVALID_ARGUMENT, "GHTIER_COLUMN_INT32 or GHTIER_COLUMN_INT64");
  headers[3].width = 40;
  expect_failure(ghtier_bitpacked_validate(&column), GHTIER_ERROR_INVALID_ARGUMENT, "block 3 has width 40");
  expect_failure(ghtier_bitpacked_unpack(&column, out.data(), 10), GHTIER_ERROR_INVALID_ARGUMENT, "out holds 10");
}

}  // namespace
