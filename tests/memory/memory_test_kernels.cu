// Kernels of memory_test_kernels.hpp. Grid-stride loops: any size with one modest launch.
#include "memory_test_kernels.hpp"

namespace ghtier::test {

namespace {
__global__ void add_one(unsigned char* p, std::size_t n) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    p[i] = static_cast<unsigned char>(p[i] + 1);
  }
}

__global__ void spin_then_fill(unsigned char* p, std::size_t n, unsigned char value, long long cycles) {
  // Every thread spins on its own clock, so the writes cannot start before the spin ends anywhere.
  const long long start = clock64();
  while (clock64() - start < cycles) {}
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    p[i] = value;
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

cudaError_t launch_spin_then_fill(unsigned char* p, std::size_t n, unsigned char value, double spin_ms,
                                  cudaStream_t stream) {
  int device = 0;
  cudaError_t status = cudaGetDevice(&device);
  if (status != cudaSuccess) return status;
  int clock_khz = 0;
  status = cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, device);
  if (status != cudaSuccess) return status;
  const auto cycles = static_cast<long long>(spin_ms * static_cast<double>(clock_khz));
  spin_then_fill<<<grid_for(n), 256, 0, stream>>>(p, n, value, cycles);
  return cudaGetLastError();
}

}  // namespace ghtier::test
