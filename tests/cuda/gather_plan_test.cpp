// CPU tests (CI) of the gather family's decisions: launch shapes for every row width class and alignment,
// argument checks that refuse bad input before any CUDA call, and the out-of-range index message.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cuda/index_fault.hpp"
#include "cuda/indexed_rows_arguments.hpp"
#include "cuda/row_copy_plan.hpp"
#include "ghtier/kernels/gather.hpp"
#include "ghtier/kernels/scatter.hpp"
#include "ghtier/kernels/sorted_gather.hpp"
#include "test_support.hpp"

using namespace ghtier;
using detail::plan_row_copy;
using detail::RowCopyShape;

namespace {
constexpr int h100_sms = 132;
constexpr std::uintptr_t aligned = 0x10000;  // a 256-aligned address, as cudaMalloc/cudaHostAlloc return

detail::RowCopyPlan plan_for(std::size_t row_bytes, std::size_t rows = 100000, std::uintptr_t src = aligned,
                             std::uintptr_t dst = aligned) {
  return plan_row_copy(row_bytes, rows, src, row_bytes, dst, row_bytes, h100_sms);
}
}  // namespace

TEST(RowCopyPlan, CommonAccessWidthIsTheLargestPowerOfTwoDividingAll) {
  EXPECT_EQ(detail::common_access_width({128, 0x1000, 0x2000}), 16u);
  EXPECT_EQ(detail::common_access_width({100, 0x1000}), 4u);
  EXPECT_EQ(detail::common_access_width({5000}), 8u);
  EXPECT_EQ(detail::common_access_width({12}), 4u);
  EXPECT_EQ(detail::common_access_width({128, 0x1001}), 1u);
  EXPECT_EQ(detail::common_access_width({128, 0x1002}), 2u);
  EXPECT_EQ(detail::common_access_width({0, 0}), 16u);
  EXPECT_EQ(detail::common_access_width({}), 16u);
}

TEST(RowCopyPlan, EveryRowWidthClassGetsTheExpectedShape) {
  struct Case {
    std::size_t row_bytes;
    RowCopyShape shape;
    unsigned access_bytes;
    unsigned lanes;
  };
  const std::vector<Case> cases = {
      {4, RowCopyShape::thread_per_row, 4, 1},       {8, RowCopyShape::thread_per_row, 8, 1},
      {12, RowCopyShape::group_per_row, 4, 4},       {16, RowCopyShape::thread_per_row, 16, 1},
      {100, RowCopyShape::group_per_row, 4, 32},     {128, RowCopyShape::group_per_row, 16, 8},
      {512, RowCopyShape::group_per_row, 16, 32},    {1024, RowCopyShape::warp_per_row, 16, 32},
      {4096, RowCopyShape::warp_per_row, 16, 32},    {5000, RowCopyShape::block_per_row, 16, 256},
      {65536, RowCopyShape::block_per_row, 16, 256}, {1000, RowCopyShape::warp_per_row, 16, 32},
  };
  for (const Case& c : cases) {
    const detail::RowCopyPlan plan = plan_for(c.row_bytes);
    EXPECT_EQ(plan.shape, c.shape) << c.row_bytes << " B rows got " << detail::to_string(plan.shape);
    EXPECT_EQ(plan.access_bytes, c.access_bytes) << c.row_bytes;
    EXPECT_EQ(plan.lanes_per_row, c.lanes) << c.row_bytes;
    EXPECT_EQ(plan.block_threads, detail::row_copy_block_threads);
    if (plan.shape == RowCopyShape::thread_per_row || plan.shape == RowCopyShape::group_per_row) {
      EXPECT_EQ(plan.accesses_per_row * plan.access_bytes, c.row_bytes) << c.row_bytes;
      EXPECT_LE(plan.accesses_per_row, plan.lanes_per_row) << c.row_bytes;
    }
  }
}

TEST(RowCopyPlan, MisalignmentNarrowsSmallRowsAndSendsOthersToTheWarpCopy) {
  // 128 B rows from a table at an odd address: byte accesses would need 128 lanes, so a warp copies each
  // row with 16-byte accesses and re-aligns with shuffles.
  EXPECT_EQ(plan_for(128, 1000, aligned + 1).shape, RowCopyShape::warp_per_row);
  EXPECT_EQ(plan_for(128, 1000, aligned + 1).access_bytes, 16u);
  // 16 B rows written to an out buffer 4 bytes off: 4-byte accesses, a group of 4 lanes per row.
  const detail::RowCopyPlan off4 = plan_for(16, 1000, aligned, aligned + 4);
  EXPECT_EQ(off4.shape, RowCopyShape::group_per_row);
  EXPECT_EQ(off4.access_bytes, 4u);
  EXPECT_EQ(off4.lanes_per_row, 4u);
  // 12 B rows at an odd base: byte accesses by a group of 16 lanes (12 of them busy).
  const detail::RowCopyPlan odd12 = plan_for(12, 1000, aligned + 3);
  EXPECT_EQ(odd12.access_bytes, 1u);
  EXPECT_EQ(odd12.accesses_per_row, 12u);
  EXPECT_EQ(odd12.lanes_per_row, 16u);
  // A pitch that is not a multiple of 16 narrows the accesses too (2D copies).
  EXPECT_EQ(plan_row_copy(64, 10, aligned, 72, aligned, 64, h100_sms).access_bytes, 8u);
}

TEST(RowCopyPlan, GridCoversTheRowsUpToWhatTheSmsHold) {
  const unsigned max_blocks = h100_sms * detail::row_copy_blocks_per_sm;
  EXPECT_EQ(plan_for(128, 0).grid_blocks, 0u);
  EXPECT_EQ(plan_for(0, 100).grid_blocks, 0u);
  EXPECT_EQ(plan_for(128, 1).grid_blocks, 1u);
  // 128 B rows: 8 lanes each, 32 groups per block, 4 rows in flight per lane -> 128 rows per block.
  EXPECT_EQ(plan_for(128, 128 * 10).grid_blocks, 10u);
  EXPECT_EQ(plan_for(128, 128 * 10 + 1).grid_blocks, 11u);
  EXPECT_EQ(plan_for(128, std::size_t{1} << 30).grid_blocks, max_blocks);
  // Warp shape: 8 rows per block.
  EXPECT_EQ(plan_for(2048, 80).grid_blocks, 10u);
  // Block shape: one block per 32 KiB slice of every row.
  EXPECT_EQ(plan_for(5000, 7).grid_blocks, 7u);
  EXPECT_EQ(plan_for(100000, 3).grid_blocks, 12u);
  EXPECT_EQ(plan_for(100000, 1000000).grid_blocks, max_blocks);
  // A zero SM count (never reported, but a caller could pass it) still launches.
  EXPECT_GE(plan_row_copy(128, 1000, aligned, 128, aligned, 128, 0).grid_blocks, 1u);
}

TEST(IndexedRowsArguments, OverlapAndOverflowHelpers) {
  std::vector<unsigned char> buffer(100);
  EXPECT_TRUE(detail::ranges_overlap(buffer.data(), 10, buffer.data() + 9, 10));
  EXPECT_FALSE(detail::ranges_overlap(buffer.data(), 10, buffer.data() + 10, 10));
  EXPECT_TRUE(detail::ranges_overlap(buffer.data() + 50, 10, buffer.data(), 51));
  EXPECT_FALSE(detail::ranges_overlap(buffer.data() + 50, 10, buffer.data(), 50));
  EXPECT_FALSE(detail::ranges_overlap(buffer.data(), 0, buffer.data(), 10));
  EXPECT_FALSE(detail::ranges_overlap(nullptr, 10, buffer.data(), 10));
  EXPECT_EQ(detail::checked_product("op", "x", 1u << 20, 1u << 20), std::size_t{1} << 40);
  EXPECT_GHTIER_ERROR((void)detail::checked_product("op", "x", std::numeric_limits<std::size_t>::max() / 2, 3),
                      ErrorCode::invalid_argument);
}

// Bad arguments are refused before any CUDA call, so these run (and must throw invalid_argument) without a GPU.
TEST(GatherArguments, RefusedBeforeLaunch) {
  std::vector<unsigned char> table(64 * 100);
  std::vector<unsigned char> out(64 * 10);
  std::vector<std::int64_t> idx(10, 0);
  std::vector<std::int32_t> idx32(10, 0);
  const auto invalid = ErrorCode::invalid_argument;
  EXPECT_GHTIER_ERROR(gather(table.data(), 0, 100, idx.data(), 10, out.data(), nullptr), invalid);
  EXPECT_GHTIER_ERROR(gather(table.data(), 64, 100, static_cast<const std::int64_t*>(nullptr), 10, out.data(), nullptr),
                      invalid);
  EXPECT_GHTIER_ERROR(gather(table.data(), 64, 100, idx.data(), 10, nullptr, nullptr), invalid);
  EXPECT_GHTIER_ERROR(gather(nullptr, 64, 100, idx.data(), 10, out.data(), nullptr), invalid);
  EXPECT_GHTIER_ERROR(gather(table.data(), 64, 0, idx.data(), 10, out.data(), nullptr), invalid);
  EXPECT_GHTIER_ERROR(
      gather(table.data(), 64, std::numeric_limits<std::size_t>::max() / 32, idx.data(), 10, out.data(), nullptr),
      invalid);
  // out inside the table, and indices inside out.
  EXPECT_GHTIER_ERROR(gather(table.data(), 64, 100, idx.data(), 10, table.data() + 640, nullptr), invalid);
  EXPECT_GHTIER_ERROR(
      gather(table.data(), 8, 100, reinterpret_cast<const std::int64_t*>(out.data()), 10, out.data(), nullptr),
      invalid);
  EXPECT_GHTIER_ERROR(gather(table.data(), 64, 0, idx32.data(), 10, out.data(), nullptr), invalid);
  EXPECT_GHTIER_ERROR(sorted_gather(table.data(), 0, 100, idx.data(), 10, out.data(), nullptr), invalid);
  EXPECT_GHTIER_ERROR(sorted_gather(table.data(), 64, 100, idx32.data(), 10, table.data(), nullptr), invalid);
  EXPECT_GHTIER_ERROR(scatter(out.data(), 64, 10, idx.data(), nullptr, 100, nullptr), invalid);
  EXPECT_GHTIER_ERROR(scatter(nullptr, 64, 10, idx.data(), table.data(), 100, nullptr), invalid);
  EXPECT_GHTIER_ERROR(scatter(table.data() + 64, 64, 10, idx32.data(), table.data(), 100, nullptr), invalid);
  // The table being written may not hold the indices.
  EXPECT_GHTIER_ERROR(
      scatter(out.data(), 8, 10, reinterpret_cast<const std::int64_t*>(table.data()), table.data(), 100, nullptr),
      invalid);
}

TEST(GatherArguments, MessagesNameTheArgument) {
  std::vector<unsigned char> table(64 * 100);
  std::vector<std::int64_t> idx(10, 0);
  try {
    gather(table.data(), 64, 100, idx.data(), 10, nullptr, nullptr);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gather: out is null"), std::string::npos) << e.what();
  }
  try {
    scatter(table.data(), 0, 10, idx.data(), table.data(), 100, nullptr);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("scatter: row_bytes is 0"), std::string::npos) << e.what();
  }
}

TEST(GatherArguments, EmptyInputIsANoOpWithoutAnyCudaCall) {
  // count == 0 returns before asking CUDA anything (so this passes on a machine without a GPU).
  std::vector<unsigned char> table(64);
  gather(table.data(), 64, 1, static_cast<const std::int64_t*>(nullptr), 0, nullptr, nullptr);
  sorted_gather(table.data(), 64, 1, static_cast<const std::int32_t*>(nullptr), 0, nullptr, nullptr);
  scatter(nullptr, 64, 0, static_cast<const std::int64_t*>(nullptr), table.data(), 1, nullptr);
  gather(nullptr, 64, 0, static_cast<const std::int64_t*>(nullptr), 0, nullptr, nullptr);
}

TEST(IndexFault, DescribesCountPositionValueAndRows) {
  detail::IndexFault fault;
  fault.count = 3;
  fault.position_plus_one = 18;
  fault.value = -1;
  fault.rows = 1000;
  const std::string text = detail::describe_index_fault(fault, "gather");
  EXPECT_NE(text.find("gather: 3 indices out of range"), std::string::npos) << text;
  EXPECT_NE(text.find("indices[17] = -1"), std::string::npos) << text;
  EXPECT_NE(text.find("[0, 1000)"), std::string::npos) << text;
  fault.count = 1;
  EXPECT_NE(detail::describe_index_fault(fault, "scatter").find("1 index out of range"), std::string::npos);
}
