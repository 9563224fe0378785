// ghtier::Error and the names of its codes.
#include "ghtier/error.hpp"

#include <utility>

#include "core/support/enum_names.hpp"

namespace ghtier {

constexpr detail::EnumName<ErrorCode> error_code_names[] = {
    {ErrorCode::invalid_argument, "invalid_argument"},
    {ErrorCode::no_device, "no_device"},
    {ErrorCode::out_of_memory, "out_of_memory"},
    {ErrorCode::out_of_budget, "out_of_budget"},
    {ErrorCode::unsupported, "unsupported"},
    {ErrorCode::cuda_error, "cuda_error"},
    {ErrorCode::not_found, "not_found"},
    {ErrorCode::io_error, "io_error"},
    {ErrorCode::internal, "internal"},
};
static_assert(detail::enum_names_complete(error_code_names, ErrorCode::invalid_argument, ErrorCode::internal));

std::string_view to_string(ErrorCode code) noexcept { return detail::enum_to_string(error_code_names, code); }

Error::Error(ErrorCode code, std::string message, int cuda_status)
    : code_(code), cuda_status_(cuda_status), message_(std::move(message)) {}

RuntimeError::RuntimeError(ErrorCode code, std::string message, int cuda_status)
    : Error(code, std::move(message), cuda_status), std::runtime_error(Error::what()) {}

OutOfMemoryError::OutOfMemoryError(std::string message, int cuda_status)
    : Error(ErrorCode::out_of_memory, std::move(message), cuda_status) {}

OutOfBudgetError::OutOfBudgetError(std::string message) : Error(ErrorCode::out_of_budget, std::move(message)) {}

void throw_error(ErrorCode code, std::string message, int cuda_status) {
  switch (code) {
    case ErrorCode::out_of_memory: throw OutOfMemoryError(std::move(message), cuda_status);
    case ErrorCode::out_of_budget: throw OutOfBudgetError(std::move(message));
    default: throw RuntimeError(code, std::move(message), cuda_status);
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
