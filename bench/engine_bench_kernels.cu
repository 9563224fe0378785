// The compute-burn kernel of the engine suite's overlap case.
#include "engine_bench_kernels.hpp"
#include "core/support/cuda_check.hpp"

namespace ghtier::bench {

namespace {
constexpr int burn_threads = 256;

__global__ void __launch_bounds__(burn_threads) compute_burn(float* sink, int iterations) {
  float a = 1.0f + threadIdx.x * 1e-7f;
  float b = 0.5f + blockIdx.x * 1e-7f;
  float c = 0.25f;
  float d = 0.125f;
  for (int i = 0; i < iterations; ++i) {
    a = fmaf(a, 0.9999f, 1e-6f);
    b = fmaf(b, 0.9998f, 2e-6f);
    c = fmaf(c, 0.9997f, 3e-6f);
    d = fmaf(d, 0.9996f, 4e-6f);
  }
  sink[blockIdx.x * burn_threads + threadIdx.x] = a + b + c + d;
}
}  // namespace

void launch_compute_burn(float* sink, int blocks, int iterations, cudaStream_t stream) {
  compute_burn<<<blocks, burn_threads, 0, stream>>>(sink, iterations);
  GHTIER_CUDA_CHECK_LAUNCH("compute_burn");
}

}  // namespace ghtier::bench
