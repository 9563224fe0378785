// Reads a real device's attributes through the CUDA runtime: the only CUDA-touching part of the platform layer.
#include <cuda_runtime_api.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/support/cuda_check.hpp"
#include "ghtier/platform/link_model_cache.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier {

namespace {
int attribute(cudaDeviceAttr attr, int device, const char* name) {
  int value = 0;
  cudaError_t status = cudaDeviceGetAttribute(&value, attr, device);
  if (status != cudaSuccess) {
    // Attributes newer than the driver come back as invalid value; treat them as "not reported".
    if (status == cudaErrorInvalidValue) {
      (void)cudaGetLastError();
      return -1;
    }
    detail::check_cuda(status, name, __FILE__, __LINE__);
  }
  return value;
}

// nvidia-smi's form of the 16 bytes: GPU-8-4-4-4-12 hex digits.
std::string uuid_text(const cudaUUID_t& uuid) {
  std::string out = "GPU-";
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += fmt::format("{:02x}", static_cast<unsigned char>(uuid.bytes[i]));
  }
  return out;
}

// The kernel driver's version where Linux reports it; else the CUDA version the driver supports (coarser: a
// driver update within one CUDA version then keeps the old calibration).
std::string driver_version_text() {
  std::ifstream proc("/proc/driver/nvidia/version");
  if (proc) {
    std::stringstream text;
    text << proc.rdbuf();
    if (auto version = parse_nvidia_driver_version(text.str())) return *version;
  }
  int version = 0;
  if (cudaDriverGetVersion(&version) != cudaSuccess) {
    (void)cudaGetLastError();
    return "unknown";
  }
  return fmt::format("cuda-{}", version);
}
}  // namespace

int visible_device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count;
}

DeviceAttributes query_device_attributes(int device) {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    throw_error(ErrorCode::no_device,
                fmt::format("no CUDA device is visible: cudaGetDeviceCount: {} ({})", cudaGetErrorString(status),
                            cudaGetErrorName(status)),
                static_cast<int>(status));
  }
  if (device < 0 || device >= count) {
    throw_error(count == 0 ? ErrorCode::no_device : ErrorCode::invalid_argument,
                fmt::format("device {} does not exist ({} visible)", device, count));
  }
  cudaDeviceProp prop{};
  GHTIER_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));

  DeviceAttributes a;
  a.device = device;
  a.name = prop.name;
  a.compute_major = prop.major;
  a.compute_minor = prop.minor;
  a.sm_count = prop.multiProcessorCount;
  a.hbm_bytes = prop.totalGlobalMem;
  a.l2_bytes = static_cast<std::size_t>(prop.l2CacheSize);
  a.async_engine_count = attribute(cudaDevAttrAsyncEngineCount, device, "cudaDevAttrAsyncEngineCount");
  a.pageable_memory_access = attribute(cudaDevAttrPageableMemoryAccess, device, "cudaDevAttrPageableMemoryAccess") > 0;
  a.pageable_memory_access_uses_host_page_tables = attribute(cudaDevAttrPageableMemoryAccessUsesHostPageTables, device,
                                                             "cudaDevAttrPageableMemoryAccessUsesHostPageTables") > 0;
  a.concurrent_managed_access =
      attribute(cudaDevAttrConcurrentManagedAccess, device, "cudaDevAttrConcurrentManagedAccess") > 0;
  a.direct_managed_mem_access_from_host =
      attribute(cudaDevAttrDirectManagedMemAccessFromHost, device, "cudaDevAttrDirectManagedMemAccessFromHost") > 0;
  a.host_native_atomic_supported =
      attribute(cudaDevAttrHostNativeAtomicSupported, device, "cudaDevAttrHostNativeAtomicSupported") > 0;
  a.can_use_host_pointer_for_registered_mem = attribute(cudaDevAttrCanUseHostPointerForRegisteredMem, device,
                                                        "cudaDevAttrCanUseHostPointerForRegisteredMem") > 0;
  a.host_register_supported =
      attribute(cudaDevAttrHostRegisterSupported, device, "cudaDevAttrHostRegisterSupported") > 0;
  a.memory_pools_supported = attribute(cudaDevAttrMemoryPoolsSupported, device, "cudaDevAttrMemoryPoolsSupported") > 0;
  a.host_numa_id = attribute(cudaDevAttrHostNumaId, device, "cudaDevAttrHostNumaId");
  int numa_config = attribute(cudaDevAttrNumaConfig, device, "cudaDevAttrNumaConfig");
  a.numa_id =
      numa_config == cudaDeviceNumaConfigNumaNode ? attribute(cudaDevAttrNumaId, device, "cudaDevAttrNumaId") : -1;
  a.uuid = uuid_text(prop.uuid);
  a.driver_version = driver_version_text();
  return a;
}

}  // namespace ghtier
