// plan_row_copy: the launch shape of the row-copy kernels, chosen from row width, alignment and SM count.
#include "cuda/row_copy_plan.hpp"

#include <algorithm>
#include <bit>

#include "core/support/enum_names.hpp"

namespace ghtier::detail {

constexpr detail::EnumName<RowCopyShape> row_copy_shape_names[] = {
    {RowCopyShape::thread_per_row, "thread_per_row"},
    {RowCopyShape::group_per_row, "group_per_row"},
    {RowCopyShape::warp_per_row, "warp_per_row"},
    {RowCopyShape::block_per_row, "block_per_row"},
};
static_assert(detail::enum_names_complete(row_copy_shape_names, RowCopyShape::thread_per_row,
                                          RowCopyShape::block_per_row));

std::string_view to_string(RowCopyShape shape) noexcept { return detail::enum_to_string(row_copy_shape_names, shape); }

unsigned common_access_width(std::initializer_list<std::uintmax_t> values) noexcept {
  std::uintmax_t bits = 16;
  for (std::uintmax_t v : values) bits |= v;
  // The lowest set bit of (16 | all values) is the largest power of two (<= 16) dividing all of them.
  return static_cast<unsigned>(bits & (~bits + 1));
}

RowCopyPlan plan_row_copy(std::size_t row_bytes, std::size_t rows, std::uintptr_t src_address, std::size_t src_stride,
                          std::uintptr_t dst_address, std::size_t dst_stride, int sm_count) noexcept {
  RowCopyPlan plan;
  plan.access_bytes = common_access_width({row_bytes, src_address, src_stride, dst_address, dst_stride});
  if (row_bytes == 0 || rows == 0) return plan;

  const std::size_t max_blocks = static_cast<std::size_t>(std::max(sm_count, 1)) * row_copy_blocks_per_sm;
  const std::size_t accesses = row_bytes / plan.access_bytes;
  std::size_t blocks = 0;
  if (accesses <= 32) {
    // Narrow rows: one access per lane, so a row is one coalesced request; each lane keeps several rows in
    // flight, which is what hides the link's latency when rows are small and scattered.
    plan.accesses_per_row = static_cast<unsigned>(accesses);
    plan.lanes_per_row = static_cast<unsigned>(std::bit_ceil(accesses));
    plan.shape = plan.lanes_per_row == 1 ? RowCopyShape::thread_per_row : RowCopyShape::group_per_row;
    const std::size_t rows_per_block =
        static_cast<std::size_t>(plan.block_threads / plan.lanes_per_row) * row_copy_rows_in_flight;
    blocks = (rows + rows_per_block - 1) / rows_per_block;
  } else if (row_bytes <= warp_row_limit_bytes) {
    // Wider rows, or rows whose alignment allows only narrow accesses: a warp copies the row with
    // 16-byte accesses (re-aligning misaligned sources with shuffles), so width and alignment cost nothing.
    plan.access_bytes = 16;
    plan.lanes_per_row = 32;
    plan.shape = RowCopyShape::warp_per_row;
    const std::size_t warps_per_block = plan.block_threads / 32;
    blocks = (rows + warps_per_block - 1) / warps_per_block;
  } else {
    plan.access_bytes = 16;
    plan.lanes_per_row = plan.block_threads;
    plan.shape = RowCopyShape::block_per_row;
    const std::size_t slices = (row_bytes + block_slice_bytes - 1) / block_slice_bytes;
    blocks = rows > max_blocks ? rows : rows * slices;  // (only compared with max_blocks: no overflow matters)
  }
  plan.grid_blocks = static_cast<unsigned>(std::clamp<std::size_t>(blocks, 1, max_blocks));
  return plan;
}

}  // namespace ghtier::detail
