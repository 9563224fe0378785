// Issuing one batch call on a stream: the SM kernel (descriptors filled here, and only here), one
// cudaMemcpyBatchAsync, or a loop of cudaMemcpyAsync. The lanes, the graph-capture path and the benchmark
// all issue through these functions, so the three cannot drift apart.
#pragma once

#include <cuda_runtime_api.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "engine/batch_builder.hpp"

namespace ghtier::detail {

/// Counters and the batch API's standing, shared by everything an engine issues.
struct BatchIssueState {
  std::atomic<bool> batch_api_usable{true};  ///< false once the driver refused cudaMemcpyBatchAsync
  std::atomic<std::uint64_t> batch_calls{0};
  std::atomic<std::uint64_t> batch_fallback_calls{0};
  std::atomic<std::uint64_t> sm_batch_launches{0};
};

/// How to issue a call.
enum class BatchIssueMode {
  sm_kernel,    ///< the SM batch kernel (every item GPU-reachable)
  batch_api,    ///< cudaMemcpyBatchAsync, falling back to a loop where refused
  memcpy_loop,  ///< a loop of cudaMemcpyAsync (certain to be capturable)
};

/// Copies the call's items with the SM kernel on `stream`, sm_batch_max_items per launch (the descriptors
/// travel as the kernel's parameter). Returns the number of launches. Throws Error(cuda_error).
std::size_t launch_sm_batch(const BatchCall& call, cudaStream_t stream);

/// Issues `call` on `stream` as `mode` says and counts it in `state` (once refused, the batch API is not
/// asked again: each refusal is an API error that compute-sanitizer counts). Throws Error(cuda_error).
void issue_batch_call(const BatchCall& call, BatchIssueMode mode, BatchIssueState& state, cudaStream_t stream);

}  // namespace ghtier::detail
