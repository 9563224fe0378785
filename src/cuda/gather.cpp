// gather: argument checks, the launch plan and index checking around the gather kernels.
#include "ghtier/kernels/gather.hpp"

#include <cstdint>

#include "core/support/log.hpp"
#include "core/support/nvtx_range.hpp"
#include "cuda/device_sm_count.hpp"
#include "cuda/gather_kernels.hpp"
#include "cuda/index_fault_sink.hpp"
#include "cuda/indexed_rows_arguments.hpp"
#include "cuda/row_copy_plan.hpp"

namespace ghtier {

namespace {
template <class Index>
void gather_rows(const void* table, std::size_t row_bytes, std::size_t num_rows, const Index* indices,
                 std::size_t count, void* out, cudaStream_t stream, IndexCheck* check, MemoryResource& resource) {
  const detail::IndexedRows args{"gather", table, row_bytes, num_rows, indices, sizeof(Index), count, out, false};
  detail::validate_indexed_rows(args);
  if (count == 0) return;
  detail::NvtxRange range("ghtier::gather", count * row_bytes);
  detail::require_indexed_rows_access(args);
  const detail::RowCopyPlan plan =
      detail::plan_row_copy(row_bytes, count, reinterpret_cast<std::uintptr_t>(table), row_bytes,
                            reinterpret_cast<std::uintptr_t>(out), row_bytes, detail::current_sm_count());
  log(LogLevel::debug, "gather: {} rows of {} B, {} with {}-byte accesses, {} blocks", count, row_bytes,
      detail::to_string(plan.shape), plan.access_bytes, plan.grid_blocks);
  detail::IndexFaultSink sink(check, stream, resource);
  detail::launch_gather(plan, table, row_bytes, num_rows, indices, count, out, sink.record(), stream);
  sink.finish("gather");
}
}  // namespace

void gather(const void* table, std::size_t row_bytes, std::size_t num_rows, const std::int64_t* indices,
            std::size_t count, void* out, cudaStream_t stream, IndexCheck* check, MemoryResource& resource) {
  gather_rows(table, row_bytes, num_rows, indices, count, out, stream, check, resource);
}

void gather(const void* table, std::size_t row_bytes, std::size_t num_rows, const std::int32_t* indices,
            std::size_t count, void* out, cudaStream_t stream, IndexCheck* check, MemoryResource& resource) {
  gather_rows(table, row_bytes, num_rows, indices, count, out, stream, check, resource);
}

}  // namespace ghtier
