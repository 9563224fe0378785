// Which GPU a resource works on: resolving "-1 = current device" once, and making that device current
// for the duration of a call that creates per-device CUDA objects (streams, events, pools).
#pragma once

namespace ghtier::detail {

/// `requested` (-1 = the current device) checked against the visible devices. Throws Error: no_device
/// when no GPU is visible, invalid_argument naming `what` for a device that does not exist.
[[nodiscard]] int resolve_device(int requested, const char* what);

/// Makes `device` current and restores the previous device on destruction.
class ScopedDevice {
 public:
  /// Throws Error(cuda_error) when the device cannot be made current.
  explicit ScopedDevice(int device);
  ~ScopedDevice();
  ScopedDevice(const ScopedDevice&) = delete;
  ScopedDevice& operator=(const ScopedDevice&) = delete;

 private:
  int previous_ = -1;
};

}  // namespace ghtier::detail
