// Thread-local last error of the C API, and the version / status functions.
#include "capi/c_api_errors.hpp"
#include "capi/c_enum_value.hpp"

#include <cstring>

#include <fmt/format.h>

#include "core/support/enum_names.hpp"
#include "ghtier/version.hpp"

namespace ghtier::capi {

constexpr detail::EnumName<ghtier_status_t> status_names[] = {
    {GHTIER_SUCCESS, "GHTIER_SUCCESS"},
    {GHTIER_ERROR_INVALID_ARGUMENT, "GHTIER_ERROR_INVALID_ARGUMENT"},
    {GHTIER_ERROR_NO_DEVICE, "GHTIER_ERROR_NO_DEVICE"},
    {GHTIER_ERROR_OUT_OF_MEMORY, "GHTIER_ERROR_OUT_OF_MEMORY"},
    {GHTIER_ERROR_OUT_OF_BUDGET, "GHTIER_ERROR_OUT_OF_BUDGET"},
    {GHTIER_ERROR_UNSUPPORTED, "GHTIER_ERROR_UNSUPPORTED"},
    {GHTIER_ERROR_CUDA, "GHTIER_ERROR_CUDA"},
    {GHTIER_ERROR_NOT_FOUND, "GHTIER_ERROR_NOT_FOUND"},
    {GHTIER_ERROR_IO, "GHTIER_ERROR_IO"},
    {GHTIER_ERROR_INTERNAL, "GHTIER_ERROR_INTERNAL"},
};
static_assert(detail::enum_names_complete(status_names, GHTIER_SUCCESS, GHTIER_ERROR_INTERNAL));

namespace {
// Trivially destructible on purpose: a thread's thread_local objects are destroyed before the static ones,
// and a C call made from a static destructor (a runtime handle freed at exit) still sets or clears the last
// error. A std::string here was written after its destruction at exit (a heap corruption, seen at the exit
// of a C API test under compute-sanitizer).
struct LastError {
  char message[4096];  // NUL-terminated; a longer message is cut and ends with "..."
  int cuda_status;
};
thread_local LastError last_error{};
}  // namespace

void set_last_error(ghtier_status_t, std::string message, int cuda_status) noexcept {
  constexpr std::size_t room = sizeof(last_error.message) - 1;
  if (message.size() <= room) {
    std::memcpy(last_error.message, message.data(), message.size());
    last_error.message[message.size()] = '\0';
  } else {
    std::memcpy(last_error.message, message.data(), room - 3);
    std::memcpy(last_error.message + room - 3, "...", 4);
  }
  last_error.cuda_status = cuda_status;
}

void require_non_null(const void* p, const char* what) {
  if (p == nullptr) throw_error(ErrorCode::invalid_argument, fmt::format("{} is NULL", what));
}

void clear_last_error() noexcept {
  last_error.message[0] = '\0';
  last_error.cuda_status = 0;
}

ghtier_status_t to_status(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument: return GHTIER_ERROR_INVALID_ARGUMENT;
    case ErrorCode::no_device: return GHTIER_ERROR_NO_DEVICE;
    case ErrorCode::out_of_memory: return GHTIER_ERROR_OUT_OF_MEMORY;
    case ErrorCode::out_of_budget: return GHTIER_ERROR_OUT_OF_BUDGET;
    case ErrorCode::unsupported: return GHTIER_ERROR_UNSUPPORTED;
    case ErrorCode::cuda_error: return GHTIER_ERROR_CUDA;
    case ErrorCode::not_found: return GHTIER_ERROR_NOT_FOUND;
    case ErrorCode::io_error: return GHTIER_ERROR_IO;
    case ErrorCode::internal: return GHTIER_ERROR_INTERNAL;
  }
  return GHTIER_ERROR_INTERNAL;
}

}  // namespace ghtier::capi

extern "C" {

ghtier_status_t ghtier_version_get(int* major, int* minor, int* patch) {
  // A successful call clears the thread's last error, as every other function does.
  return ghtier::capi::guarded("ghtier_version_get", [&] {
    if (major != nullptr) *major = GHTIER_VERSION_MAJOR;
    if (minor != nullptr) *minor = GHTIER_VERSION_MINOR;
    if (patch != nullptr) *patch = GHTIER_VERSION_PATCH;
  });
}

const char* ghtier_status_name(ghtier_status_t status) {
  // Every name is a string literal, so data() is null-terminated. A C caller may pass any int: compared as
  // one, so that a value outside the enum is never read as a ghtier_status_t.
  const int value = ghtier::capi::c_enum_value(status);
  if (value < GHTIER_SUCCESS || value > GHTIER_ERROR_INTERNAL) return "GHTIER_UNKNOWN_STATUS";
  return ghtier::detail::enum_to_string(ghtier::capi::status_names, static_cast<ghtier_status_t>(value),
                                        "GHTIER_UNKNOWN_STATUS")
      .data();
}

const char* ghtier_error_message(void) { return ghtier::capi::last_error.message; }

int ghtier_error_cuda(void) { return ghtier::capi::last_error.cuda_status; }

}  // extern "C"
