// check_allocation_arguments: the one wording of a bad size or alignment, for every resource.
#include "core/memory/allocation_checks.hpp"

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier::detail {

void check_allocation_arguments(std::size_t bytes, std::size_t alignment, const char* operation) {
  if (bytes == 0) {
    // Zero bytes is refused rather than answered with a unique pointer: a zero-sized buffer is almost always
    // a caller's bug (an unset size), and CUDA's allocators disagree on what they return for it.
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: bytes is 0; an allocation needs at least 1 byte", operation));
  }
  if (bytes > max_allocation_bytes) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: bytes = {} is absurd (more than {} bytes)", operation, bytes, max_allocation_bytes));
  }
  if (!is_power_of_two(alignment)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: alignment = {} is not a power of two", operation, alignment));
  }
  if (alignment > max_alignment) {
    throw_error(ErrorCode::invalid_argument, fmt::format("{}: alignment = {} is above the largest supported, {} bytes",
                                                         operation, alignment, max_alignment));
  }
}

}  // namespace ghtier::detail
