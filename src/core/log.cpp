// The process-wide log level and the line writer.
#include "core/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace ghtier {

namespace {
LogLevel level_from_environment() noexcept {
  const char* text = std::getenv("GHTIER_LOG");
  if (text == nullptr) return LogLevel::warn;
  return parse_log_level(text).value_or(LogLevel::warn);
}

std::atomic<int>& level_storage() noexcept {
  static std::atomic<int> level{static_cast<int>(level_from_environment())};
  return level;
}

const char* level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
    case LogLevel::off: return "off";
  }
  return "?";
}
}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) noexcept {
  if (text == "debug") return LogLevel::debug;
  if (text == "info") return LogLevel::info;
  if (text == "warn" || text == "warning") return LogLevel::warn;
  if (text == "error") return LogLevel::error;
  if (text == "off" || text == "none") return LogLevel::off;
  return std::nullopt;
}

LogLevel log_level() noexcept { return static_cast<LogLevel>(level_storage().load(std::memory_order_relaxed)); }

void set_log_level(LogLevel level) noexcept { level_storage().store(static_cast<int>(level), std::memory_order_relaxed); }

void write_log_line(LogLevel level, std::string_view message) noexcept {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::fprintf(stderr, "[ghtier %s] %.*s\n", level_name(level), static_cast<int>(message.size()), message.data());
}

}  // namespace ghtier
