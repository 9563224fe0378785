// The process-wide log level, the log sink and the line writer.
#include "core/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <utility>

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

namespace {
// The sink and the lock that serialises its calls (never destroyed: static destructors may still log).
struct SinkState {
  std::mutex mutex;
  LogSink sink;
};
SinkState& sink_state() noexcept {
  static auto* state = new SinkState;
  return *state;
}
}  // namespace

void set_log_sink(LogSink sink) {
  SinkState& state = sink_state();
  LogSink previous;
  {
    std::lock_guard lock(state.mutex);  // waits for a call to the previous sink in progress
    previous = std::exchange(state.sink, std::move(sink));
  }
  // `previous` (and what it captured) goes here, outside the lock.
}

void write_log_line(LogLevel level, std::string_view message) noexcept {
  SinkState& state = sink_state();
  std::lock_guard lock(state.mutex);
  if (state.sink) {
    try {
      state.sink(level, message);
      return;
    } catch (...) {
      // A sink that throws loses this message; logging never throws.
      return;
    }
  }
  std::fprintf(stderr, "[ghtier %s] %.*s\n", level_name(level), static_cast<int>(message.size()), message.data());
}

}  // namespace ghtier
