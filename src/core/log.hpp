// Formatted logging to stderr through fmt, filtered by ghtier::log_level().
#pragma once

#include <fmt/format.h>

#include <string_view>
#include <utility>

#include "ghtier/log.hpp"

namespace ghtier {

/// Writes one line "[ghtier level] message" to stderr; thread-safe.
void write_log_line(LogLevel level, std::string_view message) noexcept;

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level < log_level() || level == LogLevel::off) return;
  write_log_line(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace ghtier
