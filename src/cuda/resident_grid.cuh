// resident_blocks(): caps a planned grid at the blocks of a kernel that fit on the device at once (its
// registers and shared memory decide), so that a grid-stride scan runs as one wave instead of leaving a
// partly filled last one. Host code for the .cu launchers (CUDA runtime only).
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>

#include "core/support/cuda_check.hpp"

namespace ghtier::detail {

template <typename Kernel>
unsigned resident_blocks(Kernel kernel, unsigned planned_blocks, unsigned threads, std::size_t shared_bytes = 0) {
  int device = 0;
  int sm_count = 0;
  int per_sm = 0;
  GHTIER_CUDA_CHECK(cudaGetDevice(&device));
  GHTIER_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, device));
  GHTIER_CUDA_CHECK(
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, static_cast<int>(threads), shared_bytes));
  const unsigned fit = static_cast<unsigned>(std::max(per_sm, 1) * std::max(sm_count, 1));
  return std::max(1u, std::min(planned_blocks, fit));
}

}  // namespace ghtier::detail
