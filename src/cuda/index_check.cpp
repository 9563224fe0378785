// IndexCheck: allocation, clearing and read-back of the out-of-range index record in device memory.
#include "ghtier/kernels/index_check.hpp"

#include <fmt/format.h>

#include "core/support/cuda_check.hpp"
#include "cuda/index_fault.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {
detail::IndexFault read_fault(const void* record, cudaStream_t stream) {
  detail::IndexFault fault;
  GHTIER_CUDA_CHECK(cudaMemcpyAsync(&fault, record, sizeof fault, cudaMemcpyDeviceToHost, stream));
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
  return fault;
}
}  // namespace

IndexCheck::IndexCheck(MemoryResource& resource)
    : record_(DeviceBuffer::device_wide(sizeof(detail::IndexFault), resource)) {
  GHTIER_CUDA_CHECK(cudaMemset(record_.data(), 0, sizeof(detail::IndexFault)));
}

void IndexCheck::reset(cudaStream_t stream) {
  if (record_.empty()) throw_error(ErrorCode::invalid_argument, "IndexCheck::reset: moved-from IndexCheck");
  GHTIER_CUDA_CHECK(cudaMemsetAsync(record_.data(), 0, sizeof(detail::IndexFault), stream));
}

void IndexCheck::check(cudaStream_t stream) {
  if (record_.empty()) throw_error(ErrorCode::invalid_argument, "IndexCheck::check: moved-from IndexCheck");
  const detail::IndexFault fault = read_fault(record_.data(), stream);
  if (fault.count == 0) return;
  reset(stream);
  throw_error(ErrorCode::invalid_argument, detail::describe_index_fault(fault, "IndexCheck"));
}

std::uint64_t IndexCheck::bad_index_count(cudaStream_t stream) const {
  if (record_.empty()) {
    throw_error(ErrorCode::invalid_argument, "IndexCheck::bad_index_count: moved-from IndexCheck");
  }
  return read_fault(record_.data(), stream).count;
}

}  // namespace ghtier
