// StreamScratch: device memory from the stream-ordered allocator for the duration of one enqueued
// operation (accumulators, a result staged for copying back); freed on the same stream, so the free is
// ordered after every kernel that uses it, even when an exception leaves the scope early.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "core/cuda_check.hpp"

namespace ghtier::detail {

class StreamScratch {
 public:
  /// cudaMallocAsync(bytes) on `stream`. Throws Error(out_of_memory / cuda_error).
  StreamScratch(std::size_t bytes, cudaStream_t stream) : stream_(stream) {
    GHTIER_CUDA_CHECK(cudaMallocAsync(&memory_, bytes, stream));
  }
  ~StreamScratch() { GHTIER_CUDA_CHECK_NOTHROW(cudaFreeAsync(memory_, stream_)); }
  StreamScratch(const StreamScratch&) = delete;
  StreamScratch& operator=(const StreamScratch&) = delete;

  [[nodiscard]] void* get() const noexcept { return memory_; }

 private:
  void* memory_ = nullptr;
  cudaStream_t stream_;
};

}  // namespace ghtier::detail
