// ghtier::Error and the names of its codes.
#include "ghtier/error.hpp"

#include <utility>

namespace ghtier {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::no_device: return "no_device";
    case ErrorCode::out_of_memory: return "out_of_memory";
    case ErrorCode::out_of_budget: return "out_of_budget";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::cuda_error: return "cuda_error";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::io_error: return "io_error";
    case ErrorCode::internal: return "internal";
  }
  return "unknown";
}

Error::Error(ErrorCode code, std::string message, int cuda_status)
    : code_(code), cuda_status_(cuda_status), message_(std::move(message)) {}

OutOfMemoryError::OutOfMemoryError(std::string message, int cuda_status)
    : Error(ErrorCode::out_of_memory, std::move(message), cuda_status) {}

OutOfBudgetError::OutOfBudgetError(std::string message) : Error(ErrorCode::out_of_budget, std::move(message)) {}

void throw_error(ErrorCode code, std::string message, int cuda_status) {
  switch (code) {
    case ErrorCode::out_of_memory: throw OutOfMemoryError(std::move(message), cuda_status);
    case ErrorCode::out_of_budget: throw OutOfBudgetError(std::move(message));
    default: throw Error(code, std::move(message), cuda_status);
  }
}

void throw_error(const Error& error) { throw_error(error.code(), error.what(), error.cuda_status()); }

std::exception_ptr make_error(ErrorCode code, std::string message, int cuda_status) {
  try {
    throw_error(code, std::move(message), cuda_status);
  } catch (...) {
    return std::current_exception();
  }
}

}  // namespace ghtier
