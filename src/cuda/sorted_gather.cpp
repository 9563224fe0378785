// sorted_gather: argument checks and index checking around the sorted gather launcher.
#include "ghtier/kernels/sorted_gather.hpp"

#include <cstdint>

#include <fmt/format.h>

#include "core/support/log.hpp"
#include "core/support/nvtx_range.hpp"
#include "cuda/device_sm_count.hpp"
#include "cuda/index_fault_sink.hpp"
#include "cuda/indexed_rows_arguments.hpp"
#include "cuda/sorted_gather_kernels.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {
template <class Index>
void sorted_gather_rows(const void* table, std::size_t row_bytes, std::size_t num_rows, const Index* indices,
                        std::size_t count, void* out, cudaStream_t stream, IndexCheck* check,
                        MemoryResource& resource) {
  const detail::IndexedRows args{"sorted_gather", table, row_bytes, num_rows, indices,
                                 sizeof(Index),   count, out,       false};
  detail::validate_indexed_rows(args);
  if (count >= (std::size_t{1} << 32)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("sorted_gather: count {} is too large (positions are 32-bit: at most 2^32 - 1)", count));
  }
  if (count == 0) return;
  detail::NvtxRange range("ghtier::sorted_gather", count * row_bytes);
  detail::require_indexed_rows_access(args);
  const int sm_count = detail::current_sm_count();
  const detail::SortedGatherPlans plans = detail::plan_sorted_gather(row_bytes, count, table, out, sm_count);
  log(LogLevel::debug, "sorted_gather: {} rows of {} B, {} with {}-byte accesses", count, row_bytes,
      detail::to_string(plans.first.shape), plans.first.access_bytes);
  detail::IndexFaultSink sink(check, stream, resource);
  detail::launch_sorted_gather(plans, table, row_bytes, num_rows, indices, count, out, sink.record(), sm_count, stream,
                               resource);
  sink.finish("sorted_gather");
}
}  // namespace

void sorted_gather(const void* table, std::size_t row_bytes, std::size_t num_rows, const std::int64_t* indices,
                   std::size_t count, void* out, cudaStream_t stream, IndexCheck* check, MemoryResource& resource) {
  sorted_gather_rows(table, row_bytes, num_rows, indices, count, out, stream, check, resource);
}

void sorted_gather(const void* table, std::size_t row_bytes, std::size_t num_rows, const std::int32_t* indices,
                   std::size_t count, void* out, cudaStream_t stream, IndexCheck* check, MemoryResource& resource) {
  sorted_gather_rows(table, row_bytes, num_rows, indices, count, out, stream, check, resource);
}

}  // namespace ghtier
