// Warp-wide reductions over 64-bit values for the kernels that merge per-thread partials into device
// memory with one atomic per warp instead of one per thread: CUB's WarpReduce over a full 32-lane warp,
// whose shuffle specialisation needs no shared memory (so the kernels' shared-memory budgets are untouched).
// Every lane must call; the result is valid in lane 0 only (warp_broadcast hands it to the others where a
// warp-uniform decision needs it). Device code only.
#pragma once

#include <cuda_runtime.h>

#include <cub/warp/warp_reduce.cuh>
#include <cuda/functional>

namespace ghtier::detail {

template <typename T>
using FullWarpReduce = cub::WarpReduce<T>;

/// The shuffle specialisation (a power-of-two logical warp) keeps its TempStorage empty: a local one is
/// never touched, so no shared memory is spent.
template <typename T>
inline constexpr bool warp_reduce_needs_no_storage = sizeof(typename FullWarpReduce<T>::TempStorage) <= 1;

template <typename T>
__device__ __forceinline__ T warp_sum(T value) {
  static_assert(warp_reduce_needs_no_storage<T>, "cub::WarpReduce<T> would need shared memory here");
  typename FullWarpReduce<T>::TempStorage storage;
  return FullWarpReduce<T>(storage).Sum(value);
}
__device__ __forceinline__ unsigned long long warp_min(unsigned long long value) {
  static_assert(warp_reduce_needs_no_storage<unsigned long long>, "cub::WarpReduce would need shared memory here");
  typename FullWarpReduce<unsigned long long>::TempStorage storage;
  return FullWarpReduce<unsigned long long>(storage).Reduce(value, ::cuda::minimum<>{});
}
__device__ __forceinline__ unsigned long long warp_max(unsigned long long value) {
  static_assert(warp_reduce_needs_no_storage<unsigned long long>, "cub::WarpReduce would need shared memory here");
  typename FullWarpReduce<unsigned long long>::TempStorage storage;
  return FullWarpReduce<unsigned long long>(storage).Reduce(value, ::cuda::maximum<>{});
}
/// Lane 0's value, in every lane.
template <typename T>
__device__ __forceinline__ T warp_broadcast(T value) {
  return __shfl_sync(0xffffffffu, value, 0);
}

__device__ __forceinline__ unsigned lane_id() { return threadIdx.x & 31u; }

}  // namespace ghtier::detail
