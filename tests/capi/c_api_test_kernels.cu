// The late sum of c_api_test_kernels.hpp.
#include "c_api_test_kernels.hpp"

#include <stdexcept>
#include <string>

namespace ghtier::test {

namespace {
__device__ std::uint64_t global_time_ns() {
  std::uint64_t t = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__global__ void late_sum_kernel(const std::uint32_t* in, std::size_t n, std::uint64_t* partial_sums,
                                std::uint64_t spin_ns) {
  const std::uint64_t start = global_time_ns();
  while (global_time_ns() - start < spin_ns) {}
  __shared__ unsigned long long block_sum;
  if (threadIdx.x == 0) block_sum = 0;
  __syncthreads();
  unsigned long long local = 0;
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x) {
    local += in[i];
  }
  atomicAdd(&block_sum, local);
  __syncthreads();
  if (threadIdx.x == 0) partial_sums[blockIdx.x] = block_sum;
}
}  // namespace

void launch_late_sum(const std::uint32_t* in, std::size_t n, std::uint64_t* partial_sums, std::uint64_t spin_ns,
                     cudaStream_t stream) {
  late_sum_kernel<<<late_sum_blocks, 256, 0, stream>>>(in, n, partial_sums, spin_ns);
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) throw std::runtime_error(std::string("late_sum_kernel: ") + cudaGetErrorString(status));
}

}  // namespace ghtier::test
