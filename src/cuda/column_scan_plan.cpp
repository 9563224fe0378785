// The launch planning of the column kernels: vector phase, grid sizes, the group-by strategy.
#include "cuda/column_scan_plan.hpp"

#include <algorithm>

#include "core/support/enum_names.hpp"

namespace ghtier::detail {

namespace {
// CUDA reserves 1 KiB of shared memory per resident block (compute capability 8.0 and later).
constexpr std::size_t shared_reserved_per_block = 1024;
constexpr unsigned threads_per_warp = 32;

// Does a head of `head` rows bring this column to a 16-byte boundary?
bool aligned_after(const ColumnAddress& column, std::uint32_t head) noexcept {
  return (column.address + head * column.value_bytes) % 16 == 0;
}
}  // namespace

VectorPlan plan_vector_loads(std::uint64_t rows, std::span<const ColumnAddress> columns) noexcept {
  VectorPlan plan;
  std::uint32_t head = 0;
  bool found = false;
  for (std::uint32_t candidate = 0; candidate < scan_rows_per_vector && !found; ++candidate) {
    found = std::all_of(columns.begin(), columns.end(),
                        [&](const ColumnAddress& column) { return aligned_after(column, candidate); });
    if (found) head = candidate;
  }
  plan.vectorized = found;
  // Without a common phase every row goes through the scalar steps (the body still works in steps of 4).
  plan.head_rows = static_cast<std::uint32_t>(std::min<std::uint64_t>(head, rows));
  const std::uint64_t rest = rows - plan.head_rows;
  plan.body_steps = rest / scan_rows_per_vector;
  plan.tail_rows = static_cast<std::uint32_t>(rest % scan_rows_per_vector);
  return plan;
}

ScanGrid plan_scan_grid(std::uint64_t work_items, unsigned items_per_thread, int sm_count, unsigned threads,
                        unsigned blocks_per_sm) noexcept {
  ScanGrid grid;
  grid.threads = std::max(threads, threads_per_warp);
  const std::uint64_t per_block = static_cast<std::uint64_t>(grid.threads) * std::max(items_per_thread, 1u);
  const std::uint64_t needed = (work_items + per_block - 1) / per_block;
  const std::uint64_t resident = static_cast<std::uint64_t>(std::max(sm_count, 1)) * std::max(blocks_per_sm, 1u);
  grid.blocks = static_cast<unsigned>(std::clamp<std::uint64_t>(needed, 1, resident));
  return grid;
}

ScanShape plan_scan(std::uint64_t rows, std::span<const ColumnAddress> columns, int sm_count) noexcept {
  ScanShape shape;
  shape.rows = rows;
  shape.vectors = plan_vector_loads(rows, columns);
  shape.grid = plan_scan_grid(shape.vectors.body_steps, scan_vectors_per_thread, sm_count);
  return shape;
}

ScanGrid plan_packed_grid(std::uint64_t packed_blocks, int sm_count) noexcept {
  // One warp per packed block per pass: a thread's "items" are 1/32 of a block.
  return plan_scan_grid(packed_blocks * threads_per_warp, 1, sm_count);
}

ScanGrid plan_packed_probe_grid(std::uint64_t packed_blocks, int sm_count) noexcept {
  // As plan_packed_grid; packed_blocks * 32 cannot wrap (blocks of 1024 rows of a 64-bit row count).
  return plan_scan_grid(packed_blocks * threads_per_warp, 1, sm_count, packed_probe_block_threads,
                        packed_probe_blocks_per_sm);
}

constexpr detail::EnumName<GroupByStrategy> group_by_strategy_names[] = {
    {GroupByStrategy::shared_memory, "shared_memory"},
    {GroupByStrategy::global_memory, "global_memory"},
};
static_assert(detail::enum_names_complete(group_by_strategy_names, GroupByStrategy::shared_memory,
                                          GroupByStrategy::global_memory));

std::string_view to_string(GroupByStrategy strategy) noexcept {
  return detail::enum_to_string(group_by_strategy_names, strategy);
}

GroupByLaunch plan_group_by_launch(std::uint32_t groups, std::uint64_t scan_steps, int sm_count,
                                   std::size_t shared_per_block_optin, std::size_t shared_per_sm) noexcept {
  GroupByLaunch launch;
  const std::size_t bytes = static_cast<std::size_t>(groups) * group_accumulator_bytes;
  const std::size_t fit =
      bytes + shared_reserved_per_block <= shared_per_sm ? shared_per_sm / (bytes + shared_reserved_per_block) : 0;
  if (groups == 0 || bytes > shared_per_block_optin || fit == 0) {
    launch.strategy = GroupByStrategy::global_memory;
    launch.grid = plan_scan_grid(scan_steps, scan_vectors_per_thread, sm_count);
    return launch;
  }
  launch.strategy = GroupByStrategy::shared_memory;
  launch.shared_bytes = bytes;
  const unsigned blocks_per_sm = static_cast<unsigned>(std::min<std::size_t>(fit, scan_blocks_per_sm));
  const unsigned threads = blocks_per_sm >= 4 ? scan_block_threads : 2 * scan_block_threads;
  launch.grid = plan_scan_grid(scan_steps, scan_vectors_per_thread, sm_count, threads, blocks_per_sm);
  return launch;
}

}  // namespace ghtier::detail
