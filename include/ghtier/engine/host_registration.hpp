// HostRegistration: page-locks a long-lived user buffer (cudaHostRegister) for as long as the object lives,
// so that copies from and to it run at the pinned rate instead of going through the staging ring. ghtier
// never registers memory behind the caller's back: registering takes time (tens of milliseconds a GiB:
// docs/benchmarks.md, "Figures behind defaults") and pins pages whose lifetime only the caller knows.
#pragma once

#include "ghtier/export.h"

#include <cstddef>

#include "ghtier/engine/transfer_request.hpp"  // max_transfer_bytes

namespace ghtier {

class GHTIER_API HostRegistration {
 public:
  /// Registers nothing.
  HostRegistration() noexcept = default;
  /// Registers [p, p + bytes) with every CUDA context (cudaHostRegisterPortable). The buffer must stay
  /// allocated until this object is destroyed or reset(). Throws Error: invalid_argument (null p, zero
  /// bytes, more than max_transfer_bytes or a range that wraps: refused before any CUDA call, memory that is already
  /// page-locked or registered, device memory), unsupported (the device cannot register host memory), cuda_error.
  HostRegistration(void* p, std::size_t bytes);
  /// Unregisters (errors are logged, never thrown).
  ~HostRegistration();
  HostRegistration(HostRegistration&& other) noexcept;
  HostRegistration& operator=(HostRegistration&& other) noexcept;
  HostRegistration(const HostRegistration&) = delete;
  HostRegistration& operator=(const HostRegistration&) = delete;

  /// Unregisters now; afterwards registered() is false.
  void reset() noexcept;
  [[nodiscard]] bool registered() const noexcept { return data_ != nullptr; }
  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace ghtier
