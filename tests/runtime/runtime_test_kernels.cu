// Kernels of the runtime's GPU tests.
#include "runtime_test_kernels.hpp"

namespace ghtier::test {

namespace {
__global__ void add_one(unsigned char* p, std::size_t n) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    p[i] = static_cast<unsigned char>(p[i] + 1);
  }
}

__global__ void slow_add_one(unsigned char* p, std::size_t n, unsigned microseconds) {
  if (threadIdx.x == 0) {
    for (unsigned i = 0; i < microseconds; ++i) __nanosleep(1000);
  }
  __syncthreads();
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    p[i] = static_cast<unsigned char>(p[i] + 1);
  }
}

unsigned grid_for(std::size_t n) {
  const std::size_t blocks = (n + 255) / 256;
  return static_cast<unsigned>(blocks < 1024 ? (blocks == 0 ? 1 : blocks) : 1024);
}
}  // namespace

cudaError_t launch_add_one(unsigned char* p, std::size_t n, cudaStream_t stream) {
  add_one<<<grid_for(n), 256, 0, stream>>>(p, n);
  return cudaGetLastError();
}

cudaError_t launch_slow_add_one(unsigned char* p, std::size_t n, unsigned microseconds, cudaStream_t stream) {
  slow_add_one<<<grid_for(n), 256, 0, stream>>>(p, n, microseconds);
  return cudaGetLastError();
}

}  // namespace ghtier::test
