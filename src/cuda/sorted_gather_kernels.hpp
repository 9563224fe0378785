// Launcher of the sorted gather: key building, CUB radix sort, run marking and the two row-copy passes,
// all on one stream with stream-ordered scratch from the caller's resource. Arguments are validated by
// sorted_gather.cpp.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cuda/index_fault.hpp"
#include "cuda/row_copy_plan.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier::detail {

/// The plans of the two copy passes: distinct rows table -> out, then duplicates out -> out.
struct SortedGatherPlans {
  RowCopyPlan first;
  RowCopyPlan repeat;
};

/// Pure: the two passes' plans for `count` rows (count < 2^32).
[[nodiscard]] SortedGatherPlans plan_sorted_gather(std::size_t row_bytes, std::size_t count, const void* table,
                                                   const void* out, int sm_count) noexcept;

void launch_sorted_gather(const SortedGatherPlans& plans, const void* table, std::size_t row_bytes,
                          std::size_t num_rows, const std::int64_t* indices, std::size_t count, void* out,
                          IndexFault* fault, int sm_count, cudaStream_t stream, MemoryResource& resource);
void launch_sorted_gather(const SortedGatherPlans& plans, const void* table, std::size_t row_bytes,
                          std::size_t num_rows, const std::int32_t* indices, std::size_t count, void* out,
                          IndexFault* fault, int sm_count, cudaStream_t stream, MemoryResource& resource);

}  // namespace ghtier::detail
