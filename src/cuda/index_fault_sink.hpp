// IndexFaultSink: where one index-checked launch records out-of-range indices: the caller's IndexCheck
// (asynchronous), or a temporary record that finish() reads back right away (the default, synchronous).
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/index_fault.hpp"
#include "ghtier/kernels/index_check.hpp"
#include "ghtier/memory/device_buffer.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier::detail {

class IndexFaultSink {
 public:
  /// With check == nullptr: allocates a cleared record from `resource`, stream-ordered. Throws Error
  /// (out_of_budget, out_of_memory, cuda_error).
  IndexFaultSink(IndexCheck* check, cudaStream_t stream, MemoryResource& resource);
  IndexFaultSink(const IndexFaultSink&) = delete;
  IndexFaultSink& operator=(const IndexFaultSink&) = delete;

  [[nodiscard]] IndexFault* record() const noexcept { return record_; }
  /// With a temporary record: waits for the stream and throws Error(invalid_argument) from
  /// describe_index_fault if an index was out of range. With the caller's IndexCheck: nothing.
  void finish(const char* operation);

 private:
  DeviceBuffer owned_;  // the temporary record, when there is no IndexCheck
  IndexFault* record_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace ghtier::detail
