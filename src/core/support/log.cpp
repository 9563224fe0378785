// The process-wide log level, the log sink and the line writer.
#include "core/support/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <utility>

#include "core/support/enum_names.hpp"

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

constexpr detail::EnumName<LogLevel> log_level_names[] = {
    {LogLevel::debug, "debug"},
    {LogLevel::info, "info"},
    {LogLevel::warn, "warn"},
    {LogLevel::error, "error"},
    {LogLevel::off, "off"},
    // aliases that GHTIER_LOG accepts
    {LogLevel::warn, "warning"},
    {LogLevel::off, "none"},
};
static_assert(detail::enum_names_complete(log_level_names, LogLevel::debug, LogLevel::off));
}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) noexcept {
  return detail::enum_parse(log_level_names, text);
}

LogLevel log_level() noexcept { return static_cast<LogLevel>(level_storage().load(std::memory_order_relaxed)); }

void set_log_level(LogLevel level) noexcept {
  level_storage().store(static_cast<int>(level), std::memory_order_relaxed);
}

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
  const std::string_view name = detail::enum_to_string(log_level_names, level, "?");
  std::fprintf(stderr, "[ghtier %.*s] %.*s\n", static_cast<int>(name.size()), name.data(),
               static_cast<int>(message.size()), message.data());
}

}  // namespace ghtier
