// DevicePoolResource: a pool of its own (not the device's default pool), so ghtier's release threshold and
// usage figures are not mixed with other libraries' cudaMallocAsync traffic.
#include "ghtier/memory/device_pool_resource.hpp"

#include <fmt/format.h>

#include <cstdint>

#include "core/memory/aligned_block_map.hpp"
#include "core/memory/allocation_checks.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/device_selection.hpp"
#include "core/support/log_nothrow.hpp"
#include "core/support/nvtx_range.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {
// Every allocation from a CUDA pool is at least this aligned (the guarantee of cudaMalloc as well).
constexpr std::size_t pool_alignment = 256;

std::size_t pool_attribute(cudaMemPool_t pool, cudaMemPoolAttr attribute) {
  std::uint64_t value = 0;
  GHTIER_CUDA_CHECK(cudaMemPoolGetAttribute(pool, attribute, &value));
  return static_cast<std::size_t>(value);
}
}  // namespace

DevicePoolResource::DevicePoolResource(DevicePoolOptions options)
    : device_(detail::resolve_device(options.device, "DevicePoolResource")),
      over_aligned_(std::make_unique<detail::AlignedBlockMap>()) {
  int pools_supported = 0;
  GHTIER_CUDA_CHECK(cudaDeviceGetAttribute(&pools_supported, cudaDevAttrMemoryPoolsSupported, device_));
  if (pools_supported == 0) {
    throw_error(ErrorCode::unsupported,
                fmt::format("DevicePoolResource: device {} does not support CUDA memory pools", device_));
  }
  detail::ScopedDevice scoped(device_);
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.handleTypes = cudaMemHandleTypeNone;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = device_;
  props.maxSize = options.max_bytes;
  GHTIER_CUDA_CHECK(cudaMemPoolCreate(&pool_, &props));
  try {
    std::uint64_t threshold = options.release_threshold;
    GHTIER_CUDA_CHECK(cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &threshold));
    GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    if (options.initial_bytes > 0) {
      detail::NvtxRange range("ghtier::DevicePoolResource::reserve", options.initial_bytes);
      void* p = nullptr;
      GHTIER_CUDA_CHECK(cudaMallocFromPoolAsync(&p, options.initial_bytes, pool_, stream_));
      GHTIER_CUDA_CHECK(cudaFreeAsync(p, stream_));
      GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream_));
    }
  } catch (...) {
    if (stream_ != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(stream_));
    GHTIER_CUDA_CHECK_NOTHROW(cudaMemPoolDestroy(pool_));
    throw;
  }
}

DevicePoolResource::~DevicePoolResource() {
  if (over_aligned_->size() != 0) {
    detail::log_nothrow(LogLevel::warn, "DevicePoolResource destroyed with {} over-aligned allocations still live",
                        over_aligned_->size());
  }
  GHTIER_CUDA_CHECK_NOTHROW(cudaStreamSynchronize(stream_));
  GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(stream_));
  // Allocations still live keep the pool's memory until they are freed (CUDA defers the destruction).
  GHTIER_CUDA_CHECK_NOTHROW(cudaMemPoolDestroy(pool_));
}

void DevicePoolResource::set_release_threshold(std::size_t bytes) {
  std::uint64_t value = bytes;
  GHTIER_CUDA_CHECK(cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &value));
}

std::size_t DevicePoolResource::release_threshold() const {
  return pool_attribute(pool_, cudaMemPoolAttrReleaseThreshold);
}

std::size_t DevicePoolResource::reserved_bytes() const {
  return pool_attribute(pool_, cudaMemPoolAttrReservedMemCurrent);
}

std::size_t DevicePoolResource::used_bytes() const { return pool_attribute(pool_, cudaMemPoolAttrUsedMemCurrent); }

void DevicePoolResource::trim_to(std::size_t bytes_to_keep) {
  // Trimming releases only memory whose frees completed: finish the synchronous forms' frees first.
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream_));
  GHTIER_CUDA_CHECK(cudaMemPoolTrimTo(pool_, bytes_to_keep));
}

void* DevicePoolResource::do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) {
  detail::check_allocation_arguments(bytes, alignment, "DevicePoolResource::allocate");
  detail::NvtxRange range("ghtier::DevicePoolResource::allocate", bytes);
  const cudaStream_t on = synchronous ? stream_ : stream;
  const std::size_t padded = detail::AlignedBlockMap::padded_size(bytes, alignment, pool_alignment);
  void* raw = nullptr;
  const cudaError_t status = GHTIER_CUDA_CALL(cudaMallocFromPoolAsync(&raw, padded, pool_, on));
  if (status == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    throw OutOfMemoryError(
        fmt::format("DevicePoolResource::allocate: {} bytes on device {}: the pool cannot grow that much "
                    "(cudaMallocFromPoolAsync: out of memory; {} bytes reserved, {} in use)",
                    bytes, device_, reserved_bytes(), used_bytes()),
        static_cast<int>(status));
  }
  detail::check_cuda(status, "cudaMallocFromPoolAsync", __FILE__, __LINE__);
  void* p = raw;
  if (alignment > pool_alignment) {
    p = detail::AlignedBlockMap::align(raw, alignment);
    try {
      over_aligned_->remember(p, raw);
    } catch (...) {
      GHTIER_CUDA_CHECK_NOTHROW(cudaFreeAsync(raw, on));
      throw;
    }
  }
  if (synchronous) {
    const cudaError_t synced = GHTIER_CUDA_CALL(cudaStreamSynchronize(stream_));
    if (synced != cudaSuccess) {
      do_deallocate(p, bytes, alignment, nullptr, true);
      detail::check_cuda(synced, "cudaStreamSynchronize", __FILE__, __LINE__);
    }
  }
  return p;
}

void DevicePoolResource::do_deallocate(void* p, std::size_t /*bytes*/, std::size_t alignment, cudaStream_t stream,
                                       bool synchronous) noexcept {
  if (p == nullptr) return;
  void* raw = p;
  if (alignment > pool_alignment) {
    raw = over_aligned_->take(p);
    if (raw == nullptr) {
      detail::log_nothrow(
          LogLevel::error,
          "DevicePoolResource::deallocate: {} with alignment {} was not allocated with that alignment here; "
          "ignored",
          p, alignment);
      return;
    }
  }
  // The synchronous form's free is ordered on the internal stream: the caller has finished using the memory.
  GHTIER_CUDA_CHECK_NOTHROW(cudaFreeAsync(raw, synchronous ? stream_ : stream));
}

}  // namespace ghtier
