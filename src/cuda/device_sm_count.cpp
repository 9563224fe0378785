// current_sm_count: cudaDeviceGetAttribute(multiProcessorCount) once per device.
#include "cuda/device_sm_count.hpp"

#include <cuda_runtime_api.h>

#include <array>
#include <atomic>

#include "core/support/cuda_check.hpp"

namespace ghtier::detail {

int current_sm_count() {
  constexpr int max_devices = 64;
  static std::array<std::atomic<int>, max_devices> cache{};  // 0: not asked yet
  int device = 0;
  GHTIER_CUDA_CHECK(cudaGetDevice(&device));
  if (device >= 0 && device < max_devices) {
    const int known = cache[static_cast<std::size_t>(device)].load(std::memory_order_relaxed);
    if (known > 0) return known;
  }
  int sms = 0;
  GHTIER_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  if (sms < 1) sms = 1;
  if (device >= 0 && device < max_devices)
    cache[static_cast<std::size_t>(device)].store(sms, std::memory_order_relaxed);
  return sms;
}

}  // namespace ghtier::detail
