// ManagedResource: cudaMallocManaged + the advice a tier asked for, applied before anyone touches the pages.
#include "ghtier/memory/managed_resource.hpp"

#include <fmt/format.h>

#include "core/memory/aligned_block_map.hpp"
#include "core/memory/allocation_checks.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/device_selection.hpp"
#include "core/support/log_nothrow.hpp"
#include "core/support/nvtx_range.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {
// cudaMallocManaged's guaranteed alignment (that of cudaMalloc).
constexpr std::size_t managed_alignment = 256;

cudaMemLocation device_location(int device) {
  cudaMemLocation location{};
  location.type = cudaMemLocationTypeDevice;
  location.id = device;
  return location;
}

cudaMemLocation host_location() {
  cudaMemLocation location{};
  location.type = cudaMemLocationTypeHost;
  location.id = 0;  // ignored for the host
  return location;
}

void apply_advice(void* p, std::size_t bytes, const ManagedAdvice& advice, int device) {
  if (advice.read_mostly) {
    GHTIER_CUDA_CHECK(cudaMemAdvise(p, bytes, cudaMemAdviseSetReadMostly, device_location(device)));
  }
  switch (advice.preferred_location) {
    case ManagedPreferredLocation::none: break;
    case ManagedPreferredLocation::device:
      GHTIER_CUDA_CHECK(cudaMemAdvise(p, bytes, cudaMemAdviseSetPreferredLocation, device_location(device)));
      break;
    case ManagedPreferredLocation::host:
      GHTIER_CUDA_CHECK(cudaMemAdvise(p, bytes, cudaMemAdviseSetPreferredLocation, host_location()));
      break;
  }
  if (advice.accessed_by_device) {
    GHTIER_CUDA_CHECK(cudaMemAdvise(p, bytes, cudaMemAdviseSetAccessedBy, device_location(device)));
  }
  if (advice.accessed_by_host) {
    GHTIER_CUDA_CHECK(cudaMemAdvise(p, bytes, cudaMemAdviseSetAccessedBy, host_location()));
  }
}
}  // namespace

ManagedResource::ManagedResource(ManagedOptions options)
    : device_(detail::resolve_device(options.device, "ManagedResource")),
      advice_(options.advice),
      over_aligned_(std::make_unique<detail::AlignedBlockMap>()) {
  const auto preferred = static_cast<int>(advice_.preferred_location);
  if (preferred < 0 || preferred > static_cast<int>(ManagedPreferredLocation::host)) {
    throw_error(ErrorCode::invalid_argument, fmt::format("ManagedResource: unknown preferred_location {}", preferred));
  }
  int managed = 0;
  GHTIER_CUDA_CHECK(cudaDeviceGetAttribute(&managed, cudaDevAttrManagedMemory, device_));
  if (managed == 0) {
    throw_error(ErrorCode::unsupported,
                fmt::format("ManagedResource: device {} does not support managed memory", device_));
  }
}

ManagedResource::~ManagedResource() {
  if (over_aligned_->size() != 0) {
    detail::log_nothrow(LogLevel::warn, "ManagedResource destroyed with {} over-aligned allocations still live",
                        over_aligned_->size());
  }
}

void* ManagedResource::do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t /*stream*/,
                                   bool /*synchronous*/) {
  detail::check_allocation_arguments(bytes, alignment, "ManagedResource::allocate");
  detail::NvtxRange range("ghtier::ManagedResource::allocate", bytes);
  const std::size_t padded = detail::AlignedBlockMap::padded_size(bytes, alignment, managed_alignment);
  void* raw = nullptr;
  {
    detail::ScopedDevice scoped(device_);
    const cudaError_t status = GHTIER_CUDA_CALL(cudaMallocManaged(&raw, padded, cudaMemAttachGlobal));
    if (status == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      throw OutOfMemoryError(fmt::format("ManagedResource::allocate: cudaMallocManaged of {} bytes failed: {}", padded,
                                         cudaGetErrorString(status)),
                             static_cast<int>(status));
    }
    detail::check_cuda(status, "cudaMallocManaged", __FILE__, __LINE__);
  }
  void* p = raw;
  try {
    if (alignment > managed_alignment) {
      p = detail::AlignedBlockMap::align(raw, alignment);
      over_aligned_->remember(p, raw);
    }
    apply_advice(raw, padded, advice_, device_);
  } catch (...) {
    if (p != raw) (void)over_aligned_->take(p);
    GHTIER_CUDA_CHECK_NOTHROW(cudaFree(raw));
    throw;
  }
  return p;
}

void ManagedResource::do_deallocate(void* p, std::size_t /*bytes*/, std::size_t alignment, cudaStream_t stream,
                                    bool synchronous) noexcept {
  if (p == nullptr) return;
  void* raw = p;
  if (alignment > managed_alignment) {
    raw = over_aligned_->take(p);
    if (raw == nullptr) {
      detail::log_nothrow(LogLevel::error,
                          "ManagedResource::deallocate: {} with alignment {} was not allocated with that alignment "
                          "here; ignored",
                          p, alignment);
      return;
    }
  }
  // cudaFree is not stream-ordered: let the work queued on `stream` finish with the memory first.
  if (!synchronous) GHTIER_CUDA_CHECK_NOTHROW(cudaStreamSynchronize(stream));
  GHTIER_CUDA_CHECK_NOTHROW(cudaFree(raw));
}

}  // namespace ghtier
