// scatter: argument checks, the launch plan and index checking around the scatter kernels.
#include "ghtier/kernels/scatter.hpp"

#include <cstdint>

#include "core/support/log.hpp"
#include "core/support/nvtx_range.hpp"
#include "cuda/device_sm_count.hpp"
#include "cuda/index_fault_sink.hpp"
#include "cuda/indexed_rows_arguments.hpp"
#include "cuda/row_copy_plan.hpp"
#include "cuda/scatter_kernels.hpp"

namespace ghtier {

namespace {
template <class Index>
void scatter_rows(const void* rows, std::size_t row_bytes, std::size_t count, const Index* indices, void* table,
                  std::size_t num_rows, cudaStream_t stream, IndexCheck* check, MemoryResource& resource) {
  const detail::IndexedRows args{"scatter", table, row_bytes, num_rows, indices, sizeof(Index), count, rows, true};
  detail::validate_indexed_rows(args);
  if (count == 0) return;
  detail::NvtxRange range("ghtier::scatter", count * row_bytes);
  detail::require_indexed_rows_access(args);
  const detail::RowCopyPlan plan =
      detail::plan_row_copy(row_bytes, count, reinterpret_cast<std::uintptr_t>(rows), row_bytes,
                            reinterpret_cast<std::uintptr_t>(table), row_bytes, detail::current_sm_count());
  log(LogLevel::debug, "scatter: {} rows of {} B, {} with {}-byte accesses, {} blocks", count, row_bytes,
      detail::to_string(plan.shape), plan.access_bytes, plan.grid_blocks);
  detail::IndexFaultSink sink(check, stream, resource);
  detail::launch_scatter(plan, rows, row_bytes, count, indices, table, num_rows, sink.record(), stream);
  sink.finish("scatter");
}
}  // namespace

void scatter(const void* rows, std::size_t row_bytes, std::size_t count, const std::int64_t* indices, void* table,
             std::size_t num_rows, cudaStream_t stream, IndexCheck* check, MemoryResource& resource) {
  scatter_rows(rows, row_bytes, count, indices, table, num_rows, stream, check, resource);
}

void scatter(const void* rows, std::size_t row_bytes, std::size_t count, const std::int32_t* indices, void* table,
             std::size_t num_rows, cudaStream_t stream, IndexCheck* check, MemoryResource& resource) {
  scatter_rows(rows, row_bytes, count, indices, table, num_rows, stream, check, resource);
}

}  // namespace ghtier
