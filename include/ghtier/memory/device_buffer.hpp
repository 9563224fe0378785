// DeviceBuffer: device memory taken from a MemoryResource and given back to it when the buffer goes
// (RAII, like RMM's device_buffer), so every byte a kernel allocates for itself passes through a resource
// that can budget and count it. The one owning type for kernels' tables, caches, records and scratch.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>

#include "ghtier/memory/default_device_resource.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

/// Two lifetimes, chosen at construction:
/// - stream-ordered (scratch of one operation): allocate_async on `stream`, and on destruction
///   deallocate_async on the same stream, so the free is ordered after every kernel enqueued there, even
///   when an exception leaves the scope early. Use the memory only on that stream (or after it).
/// - device-wide (state that outlives any one stream: a hash table, a row cache): allocated synchronously,
///   usable from any stream; on destruction it waits for its device (as cudaFree does, so work still
///   reading it on any stream finishes first) and frees synchronously.
/// Move-only. Zero bytes holds nothing and allocates nothing.
class GHTIER_API DeviceBuffer {
 public:
  DeviceBuffer() noexcept = default;
  /// Stream-ordered. Throws Error: invalid_argument (a resource of mode system, which the GPU cannot reach
  /// on every platform), out_of_budget, out_of_memory, cuda_error (from the resource).
  DeviceBuffer(std::size_t bytes, cudaStream_t stream, MemoryResource& resource = default_device_resource());
  /// Device-wide. Throws as the stream-ordered constructor, and Error(cuda_error) if the current device
  /// cannot be read.
  [[nodiscard]] static DeviceBuffer device_wide(std::size_t bytes,
                                                MemoryResource& resource = default_device_resource());
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_; }
  [[nodiscard]] bool empty() const noexcept { return data_ == nullptr; }
  /// The resource the memory came from (null for a default-constructed or moved-from buffer).
  [[nodiscard]] MemoryResource* resource() const noexcept { return resource_; }
  /// True for a stream-ordered buffer.
  [[nodiscard]] bool stream_ordered() const noexcept { return stream_ordered_; }

 private:
  void release() noexcept;

  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  MemoryResource* resource_ = nullptr;
  cudaStream_t stream_ = nullptr;
  bool stream_ordered_ = true;
  int device_ = -1;  // device-wide buffers: the device to wait for
};

}  // namespace ghtier
