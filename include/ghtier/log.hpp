// Log levels. The level starts from the environment, GHTIER_LOG=debug|info|warn|error|off (default warn).
#pragma once

#include <optional>
#include <string_view>

namespace ghtier {

enum class LogLevel : int { debug = 0, info, warn, error, off };

/// The current level: set_log_level's, else GHTIER_LOG's, else warn.
[[nodiscard]] LogLevel log_level() noexcept;
void set_log_level(LogLevel level) noexcept;
/// "debug" -> LogLevel::debug, ...; nullopt for anything else.
[[nodiscard]] std::optional<LogLevel> parse_log_level(std::string_view text) noexcept;

}  // namespace ghtier
