// Launchers of the gather kernels (row_copy.cuh shapes over an index list). Arguments are validated by
// the callers (gather.cpp); these only launch.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cuda/index_fault.hpp"
#include "cuda/row_copy_plan.hpp"

namespace ghtier::detail {

/// out[i] = table[indices[i]]; out-of-range indices give zero rows and go to `fault`.
void launch_gather(const RowCopyPlan& plan, const void* table, std::size_t row_bytes, std::size_t num_rows,
                   const std::int64_t* indices, std::size_t count, void* out, IndexFault* fault, cudaStream_t stream);
void launch_gather(const RowCopyPlan& plan, const void* table, std::size_t row_bytes, std::size_t num_rows,
                   const std::int32_t* indices, std::size_t count, void* out, IndexFault* fault, cudaStream_t stream);

}  // namespace ghtier::detail
