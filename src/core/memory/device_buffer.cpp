// DeviceBuffer: the two lifetimes (stream-ordered scratch, device-wide state) over any MemoryResource.
#include "ghtier/memory/device_buffer.hpp"

#include <utility>

#include <fmt/format.h>

#include "core/support/cuda_check.hpp"
#include "core/support/device_selection.hpp"
#include "core/support/log_nothrow.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {
void require_gpu_reachable(const MemoryResource& resource) {
  if (resource.mode() == MemoryMode::system) {
    throw_error(ErrorCode::invalid_argument,
                "DeviceBuffer: the resource hands out system memory, which the GPU cannot reach on every platform; "
                "pass a device (or pinned_host / managed) resource");
  }
}
}  // namespace

DeviceBuffer::DeviceBuffer(std::size_t bytes, cudaStream_t stream, MemoryResource& resource)
    : bytes_(bytes), resource_(&resource), stream_(stream), stream_ordered_(true) {
  require_gpu_reachable(resource);
  if (bytes > 0) data_ = resource.allocate_async(bytes, default_alignment, stream);
}

DeviceBuffer DeviceBuffer::device_wide(std::size_t bytes, MemoryResource& resource) {
  require_gpu_reachable(resource);
  DeviceBuffer buffer;
  buffer.resource_ = &resource;
  buffer.stream_ordered_ = false;
  GHTIER_CUDA_CHECK(cudaGetDevice(&buffer.device_));
  if (bytes > 0) {
    buffer.data_ = resource.allocate(bytes, default_alignment);
    buffer.bytes_ = bytes;
  }
  return buffer;
}

DeviceBuffer::~DeviceBuffer() { release(); }

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      resource_(std::exchange(other.resource_, nullptr)),
      stream_(other.stream_),
      stream_ordered_(other.stream_ordered_),
      device_(other.device_) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    resource_ = std::exchange(other.resource_, nullptr);
    stream_ = other.stream_;
    stream_ordered_ = other.stream_ordered_;
    device_ = other.device_;
  }
  return *this;
}

void DeviceBuffer::release() noexcept {
  if (data_ == nullptr) return;
  if (stream_ordered_) {
    resource_->deallocate_async(data_, bytes_, default_alignment, stream_);
  } else {
    // Work on any stream may still read the memory: wait for the device, as cudaFree would.
    try {
      const detail::ScopedDevice scoped(device_);
      GHTIER_CUDA_CHECK(cudaDeviceSynchronize());
    } catch (const Error& e) {
      detail::log_nothrow(LogLevel::error, "DeviceBuffer: waiting for device {} before the free failed: {}", device_,
                          e.what());
    } catch (...) {
      detail::log_nothrow(LogLevel::error, "DeviceBuffer: waiting for device {} before the free failed", device_);
    }
    resource_->deallocate(data_, bytes_, default_alignment);
  }
  data_ = nullptr;
  bytes_ = 0;
}

}  // namespace ghtier
