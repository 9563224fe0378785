// Test kernels: the late producer and a spin. Time comes from %globaltimer (nanoseconds), so it does not
// depend on clock rates.
#include "engine_test_kernels.hpp"

#include <stdexcept>
#include <string>

namespace ghtier::test {

namespace {

__device__ std::uint64_t global_time_ns() {
  std::uint64_t t = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__device__ void spin_for(std::uint64_t spin_ns) {
  const std::uint64_t start = global_time_ns();
  while (global_time_ns() - start < spin_ns) {}
}

__global__ void late_producer(unsigned char* out, std::size_t bytes, std::uint32_t seed, std::uint64_t spin_ns) {
  if (threadIdx.x == 0) spin_for(spin_ns);
  __syncthreads();
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < bytes;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    out[i] = static_cast<unsigned char>((i * 131 + seed) & 0xff);
  }
}

__global__ void spin_kernel(std::uint64_t spin_ns) { spin_for(spin_ns); }

void check_launch(const char* name) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) throw std::runtime_error(std::string(name) + ": " + cudaGetErrorString(status));
}

}  // namespace

void launch_late_producer(unsigned char* out, std::size_t bytes, std::uint32_t seed, std::uint64_t spin_ns,
                          cudaStream_t stream) {
  late_producer<<<128, 256, 0, stream>>>(out, bytes, seed, spin_ns);
  check_launch("late_producer");
}

void launch_spin(std::uint64_t spin_ns, cudaStream_t stream) {
  spin_kernel<<<1, 1, 0, stream>>>(spin_ns);
  check_launch("spin_kernel");
}

}  // namespace ghtier::test
