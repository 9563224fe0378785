// ghtier::Error and the names of its codes.
#include "ghtier/error.hpp"

#include <utility>

#include "core/enum_names.hpp"

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

}  // namespace ghtier
