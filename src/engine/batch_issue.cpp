// Batch issue: SM kernel launches, the batch API with its fallback, the cudaMemcpyAsync loop.
#include "engine/batch_issue.hpp"

#include <algorithm>

#include "core/support/cuda_check.hpp"
#include "core/support/log.hpp"
#include "engine/batch_copy_kernel.hpp"

namespace ghtier::detail {

std::size_t launch_sm_batch(const BatchCall& call, cudaStream_t stream) {
  SmBatchItems items;
  std::size_t launches = 0;
  for (std::size_t first = 0; first < call.count(); first += sm_batch_max_items) {
    const std::size_t n = std::min<std::size_t>(sm_batch_max_items, call.count() - first);
    for (std::size_t i = 0; i < n; ++i) {
      items.dst[i] = call.dsts[first + i];
      items.src[i] = call.srcs[first + i];
      items.bytes[i] = call.sizes[first + i];
    }
    items.count = static_cast<int>(n);
    launch_sm_batch_copy(items, static_cast<int>(n), stream);
    ++launches;
  }
  return launches;
}

void issue_batch_call(const BatchCall& call, BatchIssueMode mode, BatchIssueState& state, cudaStream_t stream) {
  if (mode == BatchIssueMode::sm_kernel) {
    const std::size_t launches = launch_sm_batch(call, stream);
    state.batch_calls.fetch_add(launches, std::memory_order_relaxed);
    state.sm_batch_launches.fetch_add(launches, std::memory_order_relaxed);
    return;
  }
  if (mode == BatchIssueMode::batch_api && call.count() > 1 && state.batch_api_usable.load(std::memory_order_relaxed)) {
    cudaMemcpyAttributes attributes{};
    attributes.srcAccessOrder = cudaMemcpySrcAccessOrderStream;
    std::size_t attribute_index = 0;
    const cudaError_t status = GHTIER_CUDA_CALL(cudaMemcpyBatchAsync(
        call.dsts.data(), call.srcs.data(), call.sizes.data(), call.count(), &attributes, &attribute_index, 1, stream));
    if (status == cudaSuccess) {
      state.batch_calls.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    // Refused (an older driver, or memory the batch API does not take): the loop below does the same work.
    (void)cudaGetLastError();
    state.batch_fallback_calls.fetch_add(1, std::memory_order_relaxed);
    state.batch_api_usable.store(false, std::memory_order_relaxed);
    log(LogLevel::info, "cudaMemcpyBatchAsync of {} copies refused ({}): using cudaMemcpyAsync from now on",
        call.count(), cudaGetErrorName(status));
  }
  for (std::size_t i = 0; i < call.count(); ++i) {
    GHTIER_CUDA_CHECK(cudaMemcpyAsync(call.dsts[i], call.srcs[i], call.sizes[i], cudaMemcpyDefault, stream));
  }
}

}  // namespace ghtier::detail
