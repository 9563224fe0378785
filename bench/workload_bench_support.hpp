// What the workload suites (activation offload, weight streaming, KV cache) share: a wall-clock timer, an owned
// non-blocking stream, and the runtime options of the bench's device.
#pragma once

#include <cuda_runtime_api.h>

#include <chrono>
#include <memory>

#include "core/support/cuda_check.hpp"
#include "ghtier/runtime/runtime.hpp"

namespace ghtier::bench {

/// Seconds that `work()` took on the host.
template <class Work>
double seconds_of(Work&& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct StreamDeleter {
  void operator()(CUstream_st* s) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(s)); }
};
using Stream = std::unique_ptr<CUstream_st, StreamDeleter>;

/// A non-blocking stream, destroyed with its owner.
inline Stream make_stream() {
  cudaStream_t s = nullptr;
  GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return Stream(s);
}

inline RuntimeOptions runtime_options(int device) {
  RuntimeOptions options;
  options.device = device;
  return options;
}

}  // namespace ghtier::bench
