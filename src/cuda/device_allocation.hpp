// DeviceAllocation: long-lived device memory owned by an object (cudaMalloc / cudaFree), for state that
// outlives any one stream, such as a RowCache's rows and slot map.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

#include "core/cuda_check.hpp"

namespace ghtier::detail {

class DeviceAllocation {
 public:
  DeviceAllocation() = default;
  /// Throws Error(out_of_memory, cuda_error). bytes == 0 holds nothing.
  explicit DeviceAllocation(std::size_t bytes) : bytes_(bytes) {
    if (bytes > 0) GHTIER_CUDA_CHECK(cudaMalloc(&data_, bytes));
  }
  ~DeviceAllocation() {
    if (data_ != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaFree(data_));
  }
  DeviceAllocation(DeviceAllocation&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  DeviceAllocation& operator=(DeviceAllocation&& other) noexcept {
    if (this != &other) {
      if (data_ != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaFree(data_));
      data_ = std::exchange(other.data_, nullptr);
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  DeviceAllocation(const DeviceAllocation&) = delete;
  DeviceAllocation& operator=(const DeviceAllocation&) = delete;

  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace ghtier::detail
