// SM batch copy kernel: a block per item (grid-stride over items), 16-byte accesses when both ends allow,
// four loads in flight per thread so that reads of host memory over the link overlap.
#include "engine/batch_copy_kernel.hpp"

#include <cstdint>

#include "core/support/cuda_check.hpp"

namespace ghtier::detail {

namespace {

constexpr int threads_per_block = 256;
constexpr int unroll = 4;

__global__ void __launch_bounds__(threads_per_block) sm_batch_copy_kernel(const __grid_constant__ SmBatchItems items) {
  for (int item = blockIdx.x; item < items.count; item += gridDim.x) {
    auto* dst = static_cast<unsigned char*>(items.dst[item]);
    const auto* src = static_cast<const unsigned char*>(items.src[item]);
    const std::size_t bytes = items.bytes[item];
    std::size_t done = 0;
    if (((reinterpret_cast<std::uintptr_t>(dst) | reinterpret_cast<std::uintptr_t>(src)) & 15) == 0) {
      const std::size_t vectors = bytes / 16;
      const auto* s = reinterpret_cast<const uint4*>(src);
      auto* d = reinterpret_cast<uint4*>(dst);
      const std::size_t step = static_cast<std::size_t>(threads_per_block) * unroll;
      std::size_t base = 0;
      for (; base + step <= vectors; base += step) {
        uint4 v[unroll];
#pragma unroll
        for (int u = 0; u < unroll; ++u) v[u] = s[base + threadIdx.x + static_cast<std::size_t>(u) * threads_per_block];
#pragma unroll
        for (int u = 0; u < unroll; ++u) d[base + threadIdx.x + static_cast<std::size_t>(u) * threads_per_block] = v[u];
      }
      for (std::size_t i = base + threadIdx.x; i < vectors; i += threads_per_block) d[i] = s[i];
      done = vectors * 16;
    }
    for (std::size_t i = done + threadIdx.x; i < bytes; i += threads_per_block) dst[i] = src[i];
  }
}

}  // namespace

void launch_sm_batch_copy(const SmBatchItems& items, int blocks, cudaStream_t stream) {
  if (items.count <= 0) return;
  sm_batch_copy_kernel<<<blocks, threads_per_block, 0, stream>>>(items);
  GHTIER_CUDA_CHECK_LAUNCH("sm_batch_copy_kernel");
}

}  // namespace ghtier::detail
