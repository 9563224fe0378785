// The weight-reading layer kernel of the weight_streaming suite.
#include "weight_read_kernel.hpp"
#include "core/support/cuda_check.hpp"

namespace ghtier::bench {

namespace {
constexpr int read_threads = 256;

__global__ void __launch_bounds__(read_threads)
    weight_read(const uint4* weights, std::size_t words, int fma_iterations, std::uint32_t* sink) {
  std::uint32_t fold = 0;
  float acc = 0.0f;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(read_threads) + threadIdx.x; i < words;
       i += static_cast<std::size_t>(gridDim.x) * read_threads) {
    const uint4 w = weights[i];
    fold ^= w.x ^ w.y ^ w.z ^ w.w;
    float x = static_cast<float>(w.x & 0xFF);
    for (int k = 0; k < fma_iterations; ++k) x = fmaf(x, 0.9999f, 1e-6f);
    acc += x;
  }
  __shared__ std::uint32_t block_fold;
  if (threadIdx.x == 0) block_fold = 0;
  __syncthreads();
  atomicXor(&block_fold, fold ^ static_cast<std::uint32_t>(acc > 1e30f));
  __syncthreads();
  if (threadIdx.x == 0) sink[blockIdx.x] = block_fold;
}
}  // namespace

void launch_weight_read(const void* weights, std::size_t bytes, int fma_iterations, std::uint32_t* sink, int blocks,
                        cudaStream_t stream) {
  weight_read<<<blocks, read_threads, 0, stream>>>(static_cast<const uint4*>(weights), bytes / sizeof(uint4),
                                                   fma_iterations, sink);
  GHTIER_CUDA_CHECK_LAUNCH("weight_read");
}

}  // namespace ghtier::bench
