// ScratchBuffer: stream-ordered device memory for one operation's temporaries (cudaMallocAsync from the
// device's default pool, cudaFreeAsync on the same stream when it goes out of scope, error paths included).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

#include "core/cuda_check.hpp"

namespace ghtier::detail {

class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  /// Throws Error(out_of_memory, cuda_error). bytes == 0 holds nothing.
  ScratchBuffer(std::size_t bytes, cudaStream_t stream) : stream_(stream), bytes_(bytes) {
    if (bytes > 0) GHTIER_CUDA_CHECK(cudaMallocAsync(&data_, bytes, stream));
  }
  ~ScratchBuffer() {
    if (data_ != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaFreeAsync(data_, stream_));
  }
  ScratchBuffer(ScratchBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), stream_(other.stream_), bytes_(std::exchange(other.bytes_, 0)) {}
  ScratchBuffer& operator=(ScratchBuffer&& other) noexcept {
    if (this != &other) {
      if (data_ != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaFreeAsync(data_, stream_));
      data_ = std::exchange(other.data_, nullptr);
      stream_ = other.stream_;
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;

  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_; }

 private:
  void* data_ = nullptr;
  cudaStream_t stream_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace ghtier::detail
