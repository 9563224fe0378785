// The one registry of C handles: typed 64-bit ids, never reused.
#include "capi/c_api_handles.hpp"

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier::capi {

const char* kind_name(HandleKind kind) noexcept {
  switch (kind) {
    case HandleKind::runtime: return "runtime";
    case HandleKind::engine: return "engine";
    case HandleKind::token: return "token";
    case HandleKind::host_registration: return "host_registration";
    case HandleKind::index_check: return "index_check";
    case HandleKind::row_cache: return "row_cache";
    case HandleKind::hash_table: return "hash_table";
    case HandleKind::cpu_gather_pipeline: return "cpu_gather_pipeline";
    case HandleKind::activation_offloader: return "activation_offloader";
    case HandleKind::weight_streamer: return "weight_streamer";
    case HandleKind::kv_cache: return "kv_cache";
  }
  return "unknown";
}

namespace {
bool known_kind(HandleKind kind) noexcept { return std::string_view(kind_name(kind)) != "unknown"; }
}  // namespace

std::uint64_t HandleRegistry::add(HandleKind kind, std::shared_ptr<void> object) {
  std::lock_guard lock(mutex_);
  if (next_serial_ > max_serial) {
    throw_error(ErrorCode::out_of_memory,
                fmt::format("no {} handle left: all 2^{} ids of the process were used", kind_name(kind), serial_bits));
  }
  const std::uint64_t id = (static_cast<std::uint64_t>(kind) << serial_bits) | next_serial_;
  live_.emplace(id, std::move(object));
  ++next_serial_;
  return id;
}

void HandleRegistry::check_kind(std::uint64_t id, HandleKind kind, const char* what) const {
  if (id == 0) throw_error(ErrorCode::invalid_argument, fmt::format("{} is NULL", what));
  const HandleKind actual = kind_of(id);
  if (actual == kind) return;
  if (known_kind(actual)) {
    throw_error(ErrorCode::invalid_argument, fmt::format("{} = {:#x} is not a live {} handle: it is a {} handle", what,
                                                         id, kind_name(kind), kind_name(actual)));
  }
  throw_error(ErrorCode::invalid_argument,
              fmt::format("{} = {:#x} is not a live {} handle (not made by ghtier)", what, id, kind_name(kind)));
}

std::shared_ptr<void> HandleRegistry::get(std::uint64_t id, HandleKind kind, const char* what) const {
  check_kind(id, kind, what);
  {
    std::lock_guard lock(mutex_);
    const auto it = live_.find(id);
    if (it != live_.end()) return it->second;
  }
  throw_error(ErrorCode::invalid_argument,
              fmt::format("{} = {:#x} is not a live {} handle (already destroyed)", what, id, kind_name(kind)));
}

std::shared_ptr<void> HandleRegistry::remove(std::uint64_t id, HandleKind kind, const char* what) {
  check_kind(id, kind, what);
  std::shared_ptr<void> object;
  {
    std::lock_guard lock(mutex_);
    const auto it = live_.find(id);
    if (it != live_.end()) {
      object = std::move(it->second);
      live_.erase(it);
      return object;
    }
  }
  throw_error(ErrorCode::invalid_argument,
              fmt::format("{} = {:#x} is not a live {} handle (already destroyed)", what, id, kind_name(kind)));
}

std::size_t HandleRegistry::size() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

HandleRegistry& handles() {
  static auto* instance = new HandleRegistry;
  return *instance;
}

}  // namespace ghtier::capi
