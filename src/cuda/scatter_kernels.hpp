// Launchers of the scatter kernels (row_copy.cuh shapes over an index list). Arguments are validated by
// the callers (scatter.cpp); these only launch.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cuda/index_fault.hpp"
#include "cuda/row_copy_plan.hpp"

namespace ghtier::detail {

/// table[indices[i]] = rows[i]; out-of-range indices write nothing and go to `fault`.
void launch_scatter(const RowCopyPlan& plan, const void* rows, std::size_t row_bytes, std::size_t count,
                    const std::int64_t* indices, void* table, std::size_t num_rows, IndexFault* fault,
                    cudaStream_t stream);
void launch_scatter(const RowCopyPlan& plan, const void* rows, std::size_t row_bytes, std::size_t count,
                    const std::int32_t* indices, void* table, std::size_t num_rows, IndexFault* fault,
                    cudaStream_t stream);

}  // namespace ghtier::detail
