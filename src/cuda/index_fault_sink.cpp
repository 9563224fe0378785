// IndexFaultSink and describe_index_fault: the per-launch side of index checking.
#include "cuda/index_fault_sink.hpp"

#include <fmt/format.h>

#include "core/support/cuda_check.hpp"
#include "cuda/index_fault.hpp"
#include "ghtier/error.hpp"

namespace ghtier {
namespace detail {

std::string describe_index_fault(const IndexFault& fault, const char* operation) {
  std::string text =
      fmt::format("{}: {} {} out of range", operation, fault.count, fault.count == 1 ? "index" : "indices");
  if (fault.position_plus_one != 0) {
    text += fmt::format("; the first recorded is indices[{}] = {}, outside the table's rows [0, {})",
                        fault.position_plus_one - 1, fault.value, fault.rows);
  }
  return text;
}

IndexFaultSink::IndexFaultSink(IndexCheck* check, cudaStream_t stream, MemoryResource& resource) : stream_(stream) {
  if (check != nullptr) {
    record_ = static_cast<IndexFault*>(check->device_record());
    if (record_ == nullptr) throw_error(ErrorCode::invalid_argument, "moved-from IndexCheck passed as check");
    return;
  }
  owned_ = DeviceBuffer(sizeof(IndexFault), stream, resource);
  GHTIER_CUDA_CHECK(cudaMemsetAsync(owned_.data(), 0, sizeof(IndexFault), stream));
  record_ = static_cast<IndexFault*>(owned_.data());
}

void IndexFaultSink::finish(const char* operation) {
  if (owned_.empty()) return;
  IndexFault fault;
  GHTIER_CUDA_CHECK(cudaMemcpyAsync(&fault, record_, sizeof fault, cudaMemcpyDeviceToHost, stream_));
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream_));
  if (fault.count != 0) throw_error(ErrorCode::invalid_argument, describe_index_fault(fault, operation));
}

}  // namespace detail
}  // namespace ghtier
