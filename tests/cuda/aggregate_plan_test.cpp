// CPU tests (CI) of the column kernels' launch planning (vector phase of up to three columns, grids from
// the SM count, the group-by's shared/global choice) and of the argument checks of aggregate, group_by and
// the filters, which all fail before any CUDA call.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "cuda/column_checks.hpp"
#include "cuda/column_scan_plan.hpp"
#include "ghtier/error.hpp"
#include "ghtier/kernels/aggregate.hpp"
#include "ghtier/kernels/group_by.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

using detail::ColumnAddress;

// Checks a vector plan against its definition: the head brings every column to 16 bytes, rows add up.
void expect_consistent(const detail::VectorPlan& plan, std::uint64_t rows, std::span<const ColumnAddress> columns) {
  ASSERT_EQ(plan.head_rows + plan.body_steps * detail::scan_rows_per_vector + plan.tail_rows, rows);
  ASSERT_LT(plan.head_rows, detail::scan_rows_per_vector);
  ASSERT_LT(plan.tail_rows, detail::scan_rows_per_vector);
  if (plan.vectorized && plan.body_steps > 0) {
    for (const auto& column : columns) {
      ASSERT_EQ((column.address + plan.head_rows * column.value_bytes) % 16, 0u);
    }
  }
}

TEST(VectorPlan, AlignedColumnsStartAtRowZero) {
  const std::array<ColumnAddress, 2> columns{ColumnAddress{0x1000, 4}, ColumnAddress{0x2000, 8}};
  const auto plan = detail::plan_vector_loads(103, columns);
  EXPECT_TRUE(plan.vectorized);
  EXPECT_EQ(plan.head_rows, 0u);
  EXPECT_EQ(plan.body_steps, 25u);
  EXPECT_EQ(plan.tail_rows, 3u);
}

TEST(VectorPlan, AHeadRealignsColumnsOfTheSamePhase) {
  const std::array<ColumnAddress, 1> int32_plus_one{ColumnAddress{0x1004, 4}};
  EXPECT_EQ(detail::plan_vector_loads(100, int32_plus_one).head_rows, 3u);
  const std::array<ColumnAddress, 1> int64_plus_one{ColumnAddress{0x1008, 8}};
  EXPECT_EQ(detail::plan_vector_loads(100, int64_plus_one).head_rows, 1u);
  // 4-byte column 3 values in (needs 1 row), 8-byte column 8 bytes in (needs an odd head): head 1.
  const std::array<ColumnAddress, 2> mixed{ColumnAddress{0x100C, 4}, ColumnAddress{0x2008, 8}};
  const auto plan = detail::plan_vector_loads(100, mixed);
  EXPECT_TRUE(plan.vectorized);
  EXPECT_EQ(plan.head_rows, 1u);
}

TEST(VectorPlan, ColumnsOfDifferentPhasesGoScalar) {
  const std::array<ColumnAddress, 2> columns{ColumnAddress{0x1004, 4}, ColumnAddress{0x2008, 4}};
  const auto plan = detail::plan_vector_loads(100, columns);
  EXPECT_FALSE(plan.vectorized);
  expect_consistent(plan, 100, columns);
}

TEST(VectorPlan, RandomAddressesAndLengthsStayConsistent) {
  auto rng = test::fresh_rng();
  std::uniform_int_distribution<std::uint64_t> rows_of(0, 1000);
  std::uniform_int_distribution<int> slot(0, 3);
  std::uniform_int_distribution<int> count_of(1, 3);
  for (int i = 0; i < 5000; ++i) {
    std::vector<ColumnAddress> columns;
    const int count = count_of(rng);
    for (int c = 0; c < count; ++c) {
      const std::size_t size = slot(rng) % 2 == 0 ? 4 : 8;
      columns.push_back(ColumnAddress{0x10000u + size * static_cast<std::size_t>(slot(rng)), size});
    }
    const std::uint64_t rows = rows_of(rng);
    expect_consistent(detail::plan_vector_loads(rows, columns), rows, columns);
  }
  // Fewer rows than the head: all of them are head rows.
  const std::array<ColumnAddress, 1> late{ColumnAddress{0x1004, 4}};
  const auto tiny = detail::plan_vector_loads(2, late);
  EXPECT_EQ(tiny.head_rows, 2u);
  EXPECT_EQ(tiny.body_steps, 0u);
  EXPECT_EQ(tiny.tail_rows, 0u);
}

TEST(ScanGrid, CoversTheWorkAndCapsAtTheResidentBlocks) {
  EXPECT_EQ(detail::plan_scan_grid(0, 4, 132).blocks, 1u);
  EXPECT_EQ(detail::plan_scan_grid(1, 4, 132).blocks, 1u);
  EXPECT_EQ(detail::plan_scan_grid(1024, 4, 132).blocks, 1u);
  EXPECT_EQ(detail::plan_scan_grid(1025, 4, 132).blocks, 2u);
  EXPECT_EQ(detail::plan_scan_grid(1ull << 40, 4, 132).blocks, 132u * detail::scan_blocks_per_sm);
  EXPECT_EQ(detail::plan_scan_grid(1ull << 40, 4, 0).blocks, detail::scan_blocks_per_sm);
  EXPECT_EQ(detail::plan_scan_grid(100, 4, 132).threads, detail::scan_block_threads);
  // A packed column: a warp per block of 1024 values.
  EXPECT_EQ(detail::plan_packed_grid(8, 132).blocks, 1u);
  EXPECT_EQ(detail::plan_packed_grid(9, 132).blocks, 2u);
  EXPECT_EQ(detail::plan_packed_grid(1u << 20, 132).blocks, 132u * detail::scan_blocks_per_sm);
}

TEST(GroupByLaunch, SharedMemoryWhileTheGroupsFit) {
  // Hopper: 227 KiB a block (opt-in), 228 KiB an SM.
  constexpr std::size_t optin = 227 * 1024;
  constexpr std::size_t per_sm = 228 * 1024;
  const auto small = detail::plan_group_by_launch(64, 1u << 24, 132, optin, per_sm);
  EXPECT_EQ(small.strategy, detail::GroupByStrategy::shared_memory);
  EXPECT_EQ(small.shared_bytes, 64u * 32);
  EXPECT_EQ(small.grid.threads, 256u);
  EXPECT_EQ(small.grid.blocks, 132u * 8);
  const auto large = detail::plan_group_by_launch(4096, 1u << 24, 132, optin, per_sm);
  EXPECT_EQ(large.strategy, detail::GroupByStrategy::shared_memory);
  EXPECT_EQ(large.shared_bytes, 4096u * 32);
  EXPECT_EQ(large.grid.threads, 512u);
  EXPECT_EQ(large.grid.blocks, 132u);  // one 128 KiB block per SM
  const auto middle = detail::plan_group_by_launch(2048, 1u << 24, 132, optin, per_sm);
  EXPECT_EQ(middle.grid.blocks, 132u * 3);
  const auto too_many = detail::plan_group_by_launch(8000, 1u << 24, 132, optin, per_sm);
  EXPECT_EQ(too_many.strategy, detail::GroupByStrategy::global_memory);
  EXPECT_EQ(too_many.shared_bytes, 0u);
  EXPECT_EQ(too_many.grid.blocks, 132u * 8);
  // Little work: no more blocks than steps need.
  EXPECT_EQ(detail::plan_group_by_launch(64, 10, 132, optin, per_sm).grid.blocks, 1u);
  // A device with 48 KiB: 4096 groups no longer fit.
  EXPECT_EQ(detail::plan_group_by_launch(4096, 100, 10, 48 * 1024, 64 * 1024).strategy,
            detail::GroupByStrategy::global_memory);
  EXPECT_EQ(detail::to_string(detail::GroupByStrategy::shared_memory), "shared_memory");
}

TEST(ColumnChecks, NameTheArgumentAndTheValue) {
  const std::int32_t values[8] = {};
  EXPECT_NO_THROW(detail::check_column(column_view(values, 8), "values"));
  EXPECT_NO_THROW(detail::check_column(ColumnView{nullptr, 0, ColumnType::float64}, "values"));
  try {
    detail::check_column(ColumnView{nullptr, 3, ColumnType::int64}, "aggregate: values");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("aggregate: values: null data for 3 rows"), std::string::npos) << e.what();
  }
  const auto* odd = reinterpret_cast<const char*>(values) + 2;
  EXPECT_GHTIER_ERROR(detail::check_column(ColumnView{odd, 1, ColumnType::int32}, "values"),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(detail::check_column(ColumnView{values, 1, static_cast<ColumnType>(9)}, "values"),
                      ErrorCode::invalid_argument);
}

TEST(ColumnChecks, FiltersMatchTheirColumn) {
  const std::int32_t ints[8] = {};
  const float floats[8] = {};
  EXPECT_FALSE(detail::make_scan_filter(std::nullopt, 8, ColumnType::int32, "op").enabled);
  const auto on_values = detail::make_scan_filter(RangeFilter::int_range(1, 5), 8, ColumnType::int64, "op");
  EXPECT_TRUE(on_values.enabled);
  EXPECT_TRUE(on_values.on_values);
  EXPECT_EQ(on_values.min_int, 1);
  EXPECT_EQ(on_values.max_int, 5);
  const auto other =
      detail::make_scan_filter(RangeFilter::float_range(column_view(floats, 8), -1, 1), 8, ColumnType::int32, "op");
  EXPECT_FALSE(other.on_values);
  EXPECT_EQ(other.column.data, floats);
  EXPECT_EQ(other.column.type, ColumnType::float32);
  EXPECT_GHTIER_ERROR(
      (void)detail::make_scan_filter(RangeFilter::int_range(column_view(ints, 7), 0, 1), 8, ColumnType::int32, "op"),
      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)detail::make_scan_filter(RangeFilter::int_range(0, 1), 8, ColumnType::float32, "op"),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)detail::make_scan_filter(RangeFilter::float_range(0, 1), 8, ColumnType::int64, "op"),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(
      (void)detail::make_scan_filter(RangeFilter::float_range(std::nan(""), 1), 8, ColumnType::float64, "op"),
      ErrorCode::invalid_argument);
}

TEST(ColumnChecks, PackedViewsThatCannotBeReadAreRefused) {
  const BitpackBlockHeader headers[2] = {};
  const std::uint32_t words[64] = {};
  BitpackedColumnView view{ColumnType::int32, 1500, headers, words, 32};
  EXPECT_NO_THROW(detail::check_packed_column(view, "packed"));
  BitpackedColumnView bad = view;
  bad.value_type = ColumnType::float32;
  EXPECT_GHTIER_ERROR(detail::check_packed_column(bad, "packed"), ErrorCode::invalid_argument);
  bad = view;
  bad.blocks = nullptr;
  EXPECT_GHTIER_ERROR(detail::check_packed_column(bad, "packed"), ErrorCode::invalid_argument);
  bad = view;
  bad.words = nullptr;
  EXPECT_GHTIER_ERROR(detail::check_packed_column(bad, "packed"), ErrorCode::invalid_argument);
  bad = view;
  bad.word_count = 2 * 32 * 32 + 1;
  EXPECT_GHTIER_ERROR(detail::check_packed_column(bad, "packed"), ErrorCode::invalid_argument);
  bad = view;
  bad.words = reinterpret_cast<const std::uint32_t*>(reinterpret_cast<const char*>(words) + 1);
  EXPECT_GHTIER_ERROR(detail::check_packed_column(bad, "packed"), ErrorCode::invalid_argument);
}

// The most words 2^54 blocks can hold is 2^64: the bound saturates instead of wrapping to 0 and refusing
// every word.
TEST(Aggregate, PackedWordBoundOfTheLargestRowCount) {
  alignas(16) static const BitpackBlockHeader header{};
  alignas(16) static const std::uint32_t words[32] = {};
  BitpackedColumnView view;
  view.value_type = ColumnType::int64;
  view.rows = std::numeric_limits<std::uint64_t>::max();
  view.blocks = &header;
  view.words = words;
  view.word_count = 32;
  EXPECT_NO_THROW(detail::check_packed_column(view, "packed"));
}

TEST(Aggregate, BadArgumentsFailBeforeAnyCudaCall) {
  const std::int32_t keys[4] = {0, 1, 2, 3};
  const double values[4] = {};
  const double fewer[3] = {};
  EXPECT_GHTIER_ERROR((void)aggregate(ColumnView{nullptr, 4, ColumnType::int32}), ErrorCode::invalid_argument);
  AggregateOptions options;
  options.filter = RangeFilter::float_range(column_view(fewer, 3), 0, 1);
  EXPECT_GHTIER_ERROR((void)aggregate(column_view(values, 4), options), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(aggregate_async(column_view(values, 4), {}, nullptr, nullptr), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)aggregate(BitpackedColumnView{ColumnType::float64, 10, nullptr, nullptr, 0}),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)group_by(column_view(values, 4), column_view(values, 4), 4), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)group_by(column_view(keys, 4), column_view(fewer, 3), 4), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)group_by(column_view(keys, 4), column_view(values, 4), 0), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)group_by(column_view(keys, 4), column_view(values, 4), max_group_by_groups + 1),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(group_by_async(column_view(keys, 4), column_view(values, 4), 4, {}, nullptr, nullptr, nullptr),
                      ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace ghtier
