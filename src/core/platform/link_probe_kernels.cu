// Streaming read/write probes for calibrate(): grid-stride loops over float4.
#include "core/platform/link_probe_kernels.hpp"
#include "core/support/cuda_check.hpp"

namespace ghtier::detail {

namespace {
__global__ void read_probe(const float4* __restrict__ src, std::size_t count, float* sink) {
  float acc = 0.f;
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count; i += stride) {
    const float4 v = src[i];
    acc += v.x + v.y + v.z + v.w;
  }
  if (acc == 1.2345e-30f) sink[0] = acc;
}

__global__ void write_probe(float4* __restrict__ dst, std::size_t count) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count; i += stride) {
    dst[i] = make_float4(1.f, 2.f, 3.f, 4.f);
  }
}
}  // namespace

void launch_read_probe(const void* src, std::size_t bytes, float* sink, unsigned blocks, cudaStream_t stream) {
  read_probe<<<blocks, 256, 0, stream>>>(static_cast<const float4*>(src), bytes / sizeof(float4), sink);
  GHTIER_CUDA_CHECK_LAUNCH("read_probe");
}

void launch_write_probe(void* dst, std::size_t bytes, unsigned blocks, cudaStream_t stream) {
  write_probe<<<blocks, 256, 0, stream>>>(static_cast<float4*>(dst), bytes / sizeof(float4));
  GHTIER_CUDA_CHECK_LAUNCH("write_probe");
}

}  // namespace ghtier::detail
