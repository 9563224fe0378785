// StreamBlocker: a one-thread kernel that spins on a pinned flag until the host releases it.
#include "bench_suite.hpp"
#include "core/support/cuda_check.hpp"

namespace ghtier::bench {

namespace {
__global__ void spin_until_released(volatile int* flag, long long timeout_cycles) {
  const long long start = clock64();
  while (*flag == 0) {
    if (clock64() - start > timeout_cycles) break;  // never hang a benchmark run
  }
}
}  // namespace

StreamBlocker::StreamBlocker() {
  void* p = nullptr;
  GHTIER_CUDA_CHECK(cudaHostAlloc(&p, sizeof(int), cudaHostAllocMapped));
  flag_ = static_cast<volatile int*>(p);
  *flag_ = 1;
}

StreamBlocker::~StreamBlocker() {
  *flag_ = 1;
  GHTIER_CUDA_CHECK_NOTHROW(cudaFreeHost(const_cast<int*>(flag_)));
}

void StreamBlocker::block(cudaStream_t stream, int timeout_ms) {
  *flag_ = 0;
  int clock_khz = 0;
  int device = 0;
  GHTIER_CUDA_CHECK(cudaGetDevice(&device));
  GHTIER_CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, device));
  spin_until_released<<<1, 1, 0, stream>>>(flag_, static_cast<long long>(clock_khz) * timeout_ms);
  GHTIER_CUDA_CHECK_LAUNCH("spin_until_released");
}

void StreamBlocker::release() { *flag_ = 1; }

}  // namespace ghtier::bench
