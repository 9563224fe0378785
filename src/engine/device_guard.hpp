// DeviceGuard: makes the engine's device current for a scope and restores the caller's afterwards, so
// that submit() from a thread working on another GPU enqueues on the right one.
#pragma once

#include <cuda_runtime_api.h>

#include "core/support/cuda_check.hpp"

namespace ghtier::detail {

class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    GHTIER_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != device)
      GHTIER_CUDA_CHECK(cudaSetDevice(device));
    else
      previous_ = -1;
  }
  ~DeviceGuard() {
    if (previous_ >= 0) GHTIER_CUDA_CHECK_NOTHROW(cudaSetDevice(previous_));
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;  // -1: nothing to restore
};

}  // namespace ghtier::detail
