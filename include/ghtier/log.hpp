// Log levels. The level starts from the environment, GHTIER_LOG=debug|info|warn|error|off (default warn).
#pragma once

#include "ghtier/export.h"

#include <functional>
#include <optional>
#include <string_view>

namespace ghtier {

enum class LogLevel : int { debug = 0, info, warn, error, off };

/// The current level: set_log_level's, else GHTIER_LOG's, else warn.
[[nodiscard]] GHTIER_API LogLevel log_level() noexcept;
GHTIER_API void set_log_level(LogLevel level) noexcept;
/// Receives each log message (one line, no newline; the view is valid only during the call).
using LogSink = std::function<void(LogLevel level, std::string_view message)>;

/// Sends every later log message to `sink` instead of stderr; an empty sink restores the default stderr
/// sink. Calls to the sink are serialised (never two at once) and may come from any ghtier thread; when
/// set_log_sink returns, no call to the previous sink is still running. The sink must not log through
/// ghtier itself (that deadlocks); an exception it throws is swallowed.
GHTIER_API void set_log_sink(LogSink sink);
/// "debug" -> LogLevel::debug, ...; nullopt for anything else.
[[nodiscard]] GHTIER_API std::optional<LogLevel> parse_log_level(std::string_view text) noexcept;

}  // namespace ghtier
