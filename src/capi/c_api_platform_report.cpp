// The platform report's C functions (include/ghtier/ghtier_platform_report.h): the platform layer's
// describe_mode, relocation_for and choose_move for a runtime's platform.
#include <algorithm>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "capi/c_api_errors.hpp"
#include "capi/c_api_runtime.hpp"
#include "capi/c_api_struct_version.hpp"
#include "capi/c_enum_value.hpp"
#include "ghtier/error.hpp"
#include "ghtier/ghtier_platform_report.h"
#include "ghtier/memory/memory_mode.hpp"
#include "ghtier/runtime/runtime.hpp"

namespace {

ghtier::MemoryMode checked_mode(int mode, const char* what) {
  if (mode < GHTIER_MODE_DEVICE || mode > GHTIER_MODE_SYSTEM) {
    ghtier::throw_error(ghtier::ErrorCode::invalid_argument,
                        fmt::format("{} is {}: a ghtier_memory_mode_t (0..3)", what, mode));
  }
  return static_cast<ghtier::MemoryMode>(mode);
}

template <std::size_t N>
void copy_text(char (&out)[N], std::string_view text) {
  const std::size_t n = std::min(text.size(), N - 1);
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

}  // namespace

extern "C" {

ghtier_status_t ghtier_runtime_get_mode_access(ghtier_runtime_t* runtime, ghtier_memory_mode_t mode,
                                               ghtier_mode_access_t* access) {
  return ghtier::capi::guarded("ghtier_runtime_get_mode_access", [&] {
    const auto rt = ghtier::capi::shared_runtime_of(runtime);
    const ghtier::MemoryMode m = checked_mode(ghtier::capi::c_enum_value(mode), "mode");
    if (access == nullptr) ghtier::throw_error(ghtier::ErrorCode::invalid_argument, "access is NULL");
    ghtier::capi::check_struct_size<ghtier_mode_access_t>(access->struct_size, sizeof(ghtier_mode_access_t), "access");
    const ghtier::ModeAccess a = ghtier::describe_mode(rt->platform(), m);
    ghtier_mode_access_t out{};
    out.struct_size = sizeof(out);
    out.gpu_access = a.gpu_access ? 1 : 0;
    out.cpu_access = a.cpu_access ? 1 : 0;
    out.migrates = a.migrates ? 1 : 0;
    out.relocation = ghtier::relocation_for(rt->platform(), m) == ghtier::Relocation::prefetch
                         ? GHTIER_RELOCATION_PREFETCH
                         : GHTIER_RELOCATION_NONE;
    copy_text(out.lives_in, a.lives_in);
    copy_text(out.gpu_path, a.gpu_path);
    *access = out;
  });
}

ghtier_status_t ghtier_runtime_get_move_mechanism(ghtier_runtime_t* runtime, ghtier_memory_mode_t from,
                                                  ghtier_memory_mode_t to, ghtier_move_mechanism_t* mechanism) {
  return ghtier::capi::guarded("ghtier_runtime_get_move_mechanism", [&] {
    const auto rt = ghtier::capi::shared_runtime_of(runtime);
    const ghtier::MemoryMode f = checked_mode(ghtier::capi::c_enum_value(from), "from");
    const ghtier::MemoryMode t = checked_mode(ghtier::capi::c_enum_value(to), "to");
    if (mechanism == nullptr) ghtier::throw_error(ghtier::ErrorCode::invalid_argument, "mechanism is NULL");
    switch (ghtier::choose_move(rt->platform(), f, t)) {
      case ghtier::MoveMechanism::copy_engine: *mechanism = GHTIER_MOVE_COPY_ENGINE; break;
      case ghtier::MoveMechanism::staged_copy: *mechanism = GHTIER_MOVE_STAGED_COPY; break;
      case ghtier::MoveMechanism::host_copy: *mechanism = GHTIER_MOVE_HOST_COPY; break;
    }
  });
}

}  // extern "C"
