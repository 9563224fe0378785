// ghtier::Error: the one exception type of the library, with a code that the C API maps to a status.
#pragma once

#include <exception>
#include <string>
#include <string_view>

namespace ghtier {

/// What went wrong, coarse enough for a caller to act on. The C API's ghtier_status_t mirrors it.
enum class ErrorCode : int {
  invalid_argument = 1,  ///< an argument was null, out of range, or of an unknown kind
  no_device,             ///< no CUDA device is visible (or the driver is missing)
  out_of_memory,         ///< CUDA or the OS could not provide the memory
  out_of_budget,         ///< an allocation would pass a byte budget that ghtier enforces
  unsupported,           ///< the platform cannot do this (e.g. GPU access to pageable memory on PCIe)
  cuda_error,            ///< any other CUDA failure; cuda_error() holds CUDA's code
  not_found,             ///< a pointer, token or name ghtier does not know
  io_error,              ///< a file could not be read or written
  internal,              ///< a broken invariant inside ghtier (a bug: please report it)
};

/// Name of a code, e.g. "out_of_budget".
[[nodiscard]] std::string_view to_string(ErrorCode code) noexcept;

/// Thrown by every ghtier operation that fails. what() says which call failed, with which argument,
/// and (for CUDA failures) CUDA's own text.
class Error : public std::exception {
 public:
  Error(ErrorCode code, std::string message, int cuda_status = 0);

  [[nodiscard]] ErrorCode code() const noexcept { return code_; }
  /// CUDA's cudaError_t value when the failure came from CUDA, else 0.
  [[nodiscard]] int cuda_status() const noexcept { return cuda_status_; }
  [[nodiscard]] const char* what() const noexcept override { return message_.c_str(); }

 private:
  ErrorCode code_;
  int cuda_status_;
  std::string message_;
};

}  // namespace ghtier
