// resolve_device and ScopedDevice: cudaGetDeviceCount / cudaGetDevice / cudaSetDevice, checked.
#include "core/support/device_selection.hpp"

#include <cuda_runtime_api.h>

#include <fmt/format.h>

#include "core/support/cuda_check.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

int resolve_device(int requested, const char* what) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    throw_error(ErrorCode::no_device,
                fmt::format("{}: no CUDA device is visible ({})", what,
                            status != cudaSuccess ? cudaGetErrorString(status) : "cudaGetDeviceCount returned 0"),
                static_cast<int>(status));
  }
  if (requested == -1) {
    int current = 0;
    GHTIER_CUDA_CHECK(cudaGetDevice(&current));
    return current;
  }
  if (requested < 0 || requested >= count) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: device = {} does not exist ({} visible; -1 means the current device)", what, requested,
                            count));
  }
  return requested;
}

ScopedDevice::ScopedDevice(int device) {
  int current = 0;
  GHTIER_CUDA_CHECK(cudaGetDevice(&current));
  if (current != device) {
    GHTIER_CUDA_CHECK(cudaSetDevice(device));
    previous_ = current;
  }
}

ScopedDevice::~ScopedDevice() {
  if (previous_ >= 0) GHTIER_CUDA_CHECK_NOTHROW(cudaSetDevice(previous_));
}

}  // namespace ghtier::detail
