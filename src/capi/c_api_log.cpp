// The C API's log controls: the process-wide level and a C callback as the log sink.
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "capi/c_api_errors.hpp"
#include "capi/c_enum_value.hpp"
#include "ghtier/error.hpp"
#include "ghtier/ghtier.h"
#include "ghtier/log.hpp"

namespace ghtier::capi {
namespace {

LogLevel to_log_level(int value) {
  switch (value) {
    case GHTIER_LOG_DEBUG: return LogLevel::debug;
    case GHTIER_LOG_INFO: return LogLevel::info;
    case GHTIER_LOG_WARN: return LogLevel::warn;
    case GHTIER_LOG_ERROR: return LogLevel::error;
    case GHTIER_LOG_OFF: return LogLevel::off;
    default: break;
  }
  throw_error(ErrorCode::invalid_argument,
              fmt::format("level = {} is not a ghtier_log_level_t (GHTIER_LOG_DEBUG .. GHTIER_LOG_OFF)", value));
}

ghtier_log_level_t to_c(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug: return GHTIER_LOG_DEBUG;
    case LogLevel::info: return GHTIER_LOG_INFO;
    case LogLevel::warn: return GHTIER_LOG_WARN;
    case LogLevel::error: return GHTIER_LOG_ERROR;
    case LogLevel::off: return GHTIER_LOG_OFF;
  }
  return GHTIER_LOG_ERROR;
}

}  // namespace
}  // namespace ghtier::capi

extern "C" {

ghtier_status_t ghtier_log_set_sink(ghtier_log_sink_t sink, void* user_data) {
  return ghtier::capi::guarded("ghtier_log_set_sink", [&] {
    if (sink == nullptr) {
      ghtier::set_log_sink({});
      return;
    }
    ghtier::set_log_sink([sink, user_data](ghtier::LogLevel level, std::string_view message) {
      const std::string text(message);  // the C sink gets a NUL-terminated copy
      sink(ghtier::capi::to_c(level), text.c_str(), user_data);
    });
  });
}

ghtier_status_t ghtier_log_set_level(ghtier_log_level_t level) {
  return ghtier::capi::guarded("ghtier_log_set_level", [&] {
    ghtier::set_log_level(ghtier::capi::to_log_level(ghtier::capi::c_enum_value(level)));
  });
}

}  // extern "C"
