// The current device's SM count and shared-memory limits, which the column kernels' launch plans need;
// read once per device with cudaDeviceGetAttribute and cached.
#pragma once

#include <cstddef>

namespace ghtier::detail {

struct DeviceLimits {
  int device = 0;
  int sm_count = 1;
  std::size_t shared_per_block_optin = 48 * 1024;  ///< the most dynamic shared memory a block may opt into
  std::size_t shared_per_sm = 48 * 1024;
};

/// Limits of the current device. Throws Error(no_device) / Error(cuda_error).
[[nodiscard]] DeviceLimits current_device_limits();

}  // namespace ghtier::detail
