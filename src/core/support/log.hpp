// Formatted logging through fmt to the log sink (stderr by default), filtered by ghtier::log_level().
#pragma once

#include <fmt/format.h>

#include <string_view>
#include <utility>

#include "ghtier/log.hpp"

namespace ghtier {

/// Hands one message to the log sink (default: a line "[ghtier level] message" on stderr); thread-safe.
void write_log_line(LogLevel level, std::string_view message) noexcept;

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level < log_level() || level == LogLevel::off) return;
  write_log_line(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace ghtier
