// Warp-wide reductions over 64-bit values (shuffles), for the kernels that merge per-thread partials
// into device memory with one atomic per warp instead of one per thread. Device code only.
#pragma once

#include <cuda_runtime.h>

namespace ghtier::detail {

__device__ __forceinline__ unsigned long long warp_sum(unsigned long long value) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}
__device__ __forceinline__ double warp_sum(double value) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}
__device__ __forceinline__ unsigned long long warp_min(unsigned long long value) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) value = min(value, __shfl_xor_sync(0xffffffffu, value, offset));
  return value;
}
__device__ __forceinline__ unsigned long long warp_max(unsigned long long value) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) value = max(value, __shfl_xor_sync(0xffffffffu, value, offset));
  return value;
}

__device__ __forceinline__ unsigned lane_id() { return threadIdx.x & 31u; }

}  // namespace ghtier::detail
