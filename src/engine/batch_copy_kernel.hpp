// The SM batch copy: one kernel launch copies up to sm_batch_max_items items, the descriptors travelling as
// the kernel's parameter (no descriptor buffer to allocate or free). An alternative to cudaMemcpyBatchAsync
// for many small copies between GPU-reachable buffers; it uses SMs instead of a copy engine.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

namespace ghtier::detail {

inline constexpr int sm_batch_max_items = 1024;

/// Kernel parameter: 1024 x 24 bytes + count, under CUDA 12.1+'s 32 KiB parameter limit (fewer launches
/// per batch: each launch boundary leaves the link idle for a round trip).
struct SmBatchItems {
  void* dst[sm_batch_max_items];
  const void* src[sm_batch_max_items];
  std::size_t bytes[sm_batch_max_items];
  int count = 0;
};

/// Launches the copy of items.count items on `stream` with `blocks` blocks (each block copies whole items).
/// Throws Error(cuda_error) if the launch fails. The caller has checked every pointer is GPU-reachable.
void launch_sm_batch_copy(const SmBatchItems& items, int blocks, cudaStream_t stream);

}  // namespace ghtier::detail
