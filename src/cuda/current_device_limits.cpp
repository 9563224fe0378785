// current_device_limits(): three attributes per device, cached after the first call.
#include "cuda/current_device_limits.hpp"

#include <cuda_runtime_api.h>

#include <map>
#include <mutex>

#include "core/support/cuda_check.hpp"

namespace ghtier::detail {

DeviceLimits current_device_limits() {
  int device = 0;
  GHTIER_CUDA_CHECK(cudaGetDevice(&device));
  static std::mutex mutex;
  static std::map<int, DeviceLimits> cache;
  std::lock_guard lock(mutex);
  auto found = cache.find(device);
  if (found != cache.end()) return found->second;
  DeviceLimits limits;
  limits.device = device;
  int value = 0;
  GHTIER_CUDA_CHECK(cudaDeviceGetAttribute(&value, cudaDevAttrMultiProcessorCount, device));
  limits.sm_count = value;
  GHTIER_CUDA_CHECK(cudaDeviceGetAttribute(&value, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  limits.shared_per_block_optin = static_cast<std::size_t>(value);
  GHTIER_CUDA_CHECK(cudaDeviceGetAttribute(&value, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device));
  limits.shared_per_sm = static_cast<std::size_t>(value);
  cache.emplace(device, limits);
  return limits;
}

}  // namespace ghtier::detail
