// require_gpu_access: cudaPointerGetAttributes + the device's pageable-access attribute (cached per device).
#include "core/memory/gpu_access.hpp"

#include <cuda_runtime_api.h>

#include <array>
#include <atomic>

#include <fmt/format.h>

#include "core/support/cuda_check.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {
constexpr int max_devices = 64;

// Per device, filled on first use.
bool device_reads_pageable(int device) {
  // Stored as value + 1 so that zero-initialisation means "unknown".
  static std::array<std::atomic<int>, max_devices> cache{};
  if (device < 0 || device >= max_devices) {
    int value = 0;
    GHTIER_CUDA_CHECK(cudaDeviceGetAttribute(&value, cudaDevAttrPageableMemoryAccess, device));
    return value != 0;
  }
  int known = cache[static_cast<std::size_t>(device)].load(std::memory_order_relaxed) - 1;
  if (known < 0) {
    int value = 0;
    GHTIER_CUDA_CHECK(cudaDeviceGetAttribute(&value, cudaDevAttrPageableMemoryAccess, device));
    known = value != 0 ? 1 : 0;
    cache[static_cast<std::size_t>(device)].store(known + 1, std::memory_order_relaxed);
  }
  return known == 1;
}
}  // namespace

PointerKind classify_pointer(const void* p) {
  if (p == nullptr) throw_error(ErrorCode::invalid_argument, "null pointer");
  cudaPointerAttributes attributes{};
  GHTIER_CUDA_CHECK(cudaPointerGetAttributes(&attributes, p));
  switch (attributes.type) {
    case cudaMemoryTypeDevice: return PointerKind::device;
    case cudaMemoryTypeHost: return PointerKind::pinned_host;
    case cudaMemoryTypeManaged: return PointerKind::managed;
    case cudaMemoryTypeUnregistered:
    default: return PointerKind::pageable;
  }
}

void require_gpu_access(const void* p, std::size_t bytes, const char* what) {
  if (bytes == 0) return;
  if (p == nullptr) {
    throw_error(ErrorCode::invalid_argument, fmt::format("{}: null pointer for {} bytes", what, bytes));
  }
  if (classify_pointer(p) != PointerKind::pageable) return;
  int device = 0;
  GHTIER_CUDA_CHECK(cudaGetDevice(&device));
  if (!device_reads_pageable(device)) {
    throw_error(ErrorCode::unsupported,
                fmt::format("{}: {} is pageable host memory, which device {} cannot access on this platform (no "
                            "ATS/HMM); use pinned host memory (MemoryMode::pinned_host) or register it",
                            what, p, device));
  }
}

}  // namespace ghtier::detail
