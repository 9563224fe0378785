// log_nothrow: logging for noexcept paths (deallocation, destructors), where a failure to format or write
// the message must not terminate the program.
#pragma once

#include <utility>

#include "core/support/log.hpp"

namespace ghtier::detail {

template <typename... Args>
void log_nothrow(LogLevel level, fmt::format_string<Args...> format, Args&&... args) noexcept {
  try {
    log(level, format, std::forward<Args>(args)...);
  } catch (...) {
    // Out of memory while logging: nothing more can be said safely.
  }
}

}  // namespace ghtier::detail
