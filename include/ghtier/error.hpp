// ghtier::Error: what every failure of the library carries (a code that the C API maps to a status), and the
// exception types that carry it: each is an Error and exactly one standard exception.
#pragma once

#include "ghtier/export.h"

#include <exception>
#include <new>
#include <stdexcept>
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
[[nodiscard]] GHTIER_API std::string_view to_string(ErrorCode code) noexcept;

/// What every ghtier failure carries: a code, a message that says which call failed with which argument
/// (and, for CUDA failures, CUDA's own text), and CUDA's status. Every exception ghtier throws derives from
/// Error AND from exactly one standard exception (so `catch (const std::exception&)` sees each of them):
/// OutOfMemoryError and OutOfBudgetError are also std::bad_alloc, every other code is a RuntimeError (a
/// std::runtime_error). Catch `const ghtier::Error&` for the code. Error itself is a value (kept in tokens,
/// copied into reports); it is never thrown: ghtier throws through throw_error(), which picks the type.
class GHTIER_API Error {
 public:
  Error(ErrorCode code, std::string message, int cuda_status = 0);
  virtual ~Error() = default;
  Error(const Error&) = default;
  Error(Error&&) noexcept = default;
  Error& operator=(const Error&) = default;
  Error& operator=(Error&&) noexcept = default;

  [[nodiscard]] ErrorCode code() const noexcept { return code_; }
  /// CUDA's cudaError_t value when the failure came from CUDA, else 0.
  [[nodiscard]] int cuda_status() const noexcept { return cuda_status_; }
  /// The message (the same text as the standard exception's what()).
  [[nodiscard]] const char* what() const noexcept { return message_.c_str(); }

 private:
  ErrorCode code_;
  int cuda_status_;
  std::string message_;
};

/// Every failure except the memory ones: an Error that is also a std::runtime_error.
class GHTIER_API RuntimeError final : public Error, public std::runtime_error {
 public:
  RuntimeError(ErrorCode code, std::string message, int cuda_status = 0);
  [[nodiscard]] const char* what() const noexcept override { return Error::what(); }
};

/// An Error with code out_of_memory (CUDA or the OS could not provide the memory) that is also a
/// std::bad_alloc, so generic code that reacts to a failed allocation (`catch (const std::bad_alloc&)`) sees it.
class GHTIER_API OutOfMemoryError final : public Error, public std::bad_alloc {
 public:
  explicit OutOfMemoryError(std::string message, int cuda_status = 0);
  [[nodiscard]] const char* what() const noexcept override { return Error::what(); }
};

/// An Error with code out_of_budget (a ghtier byte budget refused the allocation) that is also a
/// std::bad_alloc.
class GHTIER_API OutOfBudgetError final : public Error, public std::bad_alloc {
 public:
  explicit OutOfBudgetError(std::string message);
  [[nodiscard]] const char* what() const noexcept override { return Error::what(); }
};

/// Throws the type that `code` calls for: OutOfMemoryError, OutOfBudgetError, else RuntimeError.
[[noreturn]] GHTIER_API void throw_error(ErrorCode code, std::string message, int cuda_status = 0);
/// Throws a copy of `error` as the type its code calls for (for errors kept by value and raised later).
[[noreturn]] GHTIER_API void throw_error(const Error& error);
/// The exception throw_error() would throw, as an exception_ptr (for promises and deferred reports).
[[nodiscard]] GHTIER_API std::exception_ptr make_error(ErrorCode code, std::string message, int cuda_status = 0);

}  // namespace ghtier
