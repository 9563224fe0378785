// The runtime and memory part of the C API: runtime handles (in the one handle registry), the allocations
// made through them, the C <-> C++ conversions, and one guarded wrapper per function.
#include "capi/c_api_runtime.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "capi/c_api_errors.hpp"
#include "capi/c_api_handles.hpp"
#include "capi/c_api_struct_version.hpp"
#include "capi/c_enum_value.hpp"
#include "core/support/log.hpp"
#include "core/support/log_nothrow.hpp"
#include "ghtier/error.hpp"
#include "ghtier/memory/default_device_resource.hpp"
#include "ghtier/policy/builtin_policy.hpp"

namespace ghtier::capi {

namespace {

// What a handle stands for: the runtime and the allocations made through the C API. Once the handle is
// destroyed (`closed`), no allocation may be added: one that finishes after the destroy is freed and its
// call fails, so it never returns a pointer that the destroy has already freed.
struct CRuntime {
  std::shared_ptr<Runtime> runtime;
  std::mutex mutex;
  std::unordered_map<void*, Buffer> buffers;  // by base pointer
  bool closed = false;

  // Frees every allocation still live (called by ghtier_runtime_destroy, once), with no user left to order
  // the free: wait for every engine over the runtime and for the device first, then free synchronously,
  // never touching the streams they were allocated on (the caller may have destroyed those already).
  void close() noexcept {
    std::unordered_map<void*, Buffer> live;
    {
      std::lock_guard lock(mutex);
      closed = true;
      live.swap(buffers);
    }
    if (live.empty()) return;
    detail::log_nothrow(LogLevel::info, "ghtier_runtime_destroy: freeing {} allocations still live", live.size());
    try {
      runtime->quiesce();
    } catch (const std::exception& e) {
      detail::log_nothrow(LogLevel::error, "ghtier_runtime_destroy: waiting for the device failed: {}", e.what());
    }
    for (auto& [base, buffer] : live) buffer.set_stream(nullptr);
  }
};

std::shared_ptr<CRuntime> get_runtime(ghtier_runtime_t* handle) {
  return get_handle<CRuntime>(handle, HandleKind::runtime, "runtime");
}

MemoryMode to_mode(int value, const char* what) {
  switch (value) {
    case GHTIER_MODE_DEVICE: return MemoryMode::device;
    case GHTIER_MODE_PINNED_HOST: return MemoryMode::pinned_host;
    case GHTIER_MODE_MANAGED: return MemoryMode::managed;
    case GHTIER_MODE_SYSTEM: return MemoryMode::system;
    default: break;
  }
  throw_error(
      ErrorCode::invalid_argument,
      fmt::format("{} = {} is not a ghtier_memory_mode_t (GHTIER_MODE_DEVICE .. GHTIER_MODE_SYSTEM)", what, value));
}

int32_t from_mode(MemoryMode mode) noexcept {
  switch (mode) {
    case MemoryMode::device: return GHTIER_MODE_DEVICE;
    case MemoryMode::pinned_host: return GHTIER_MODE_PINNED_HOST;
    case MemoryMode::managed: return GHTIER_MODE_MANAGED;
    case MemoryMode::system: return GHTIER_MODE_SYSTEM;
  }
  return -1;
}

Location to_location(int value, const char* what) {
  switch (value) {
    case GHTIER_LOCATION_NONE: return Location::none;
    case GHTIER_LOCATION_DEVICE: return Location::device;
    case GHTIER_LOCATION_HOST: return Location::host;
    default: break;
  }
  throw_error(ErrorCode::invalid_argument,
              fmt::format("{} = {} is not a ghtier_location_t (NONE, DEVICE or HOST)", what, value));
}

int32_t from_location(Location location) noexcept {
  switch (location) {
    case Location::none: return GHTIER_LOCATION_NONE;
    case Location::device: return GHTIER_LOCATION_DEVICE;
    case Location::host: return GHTIER_LOCATION_HOST;
  }
  return GHTIER_LOCATION_NONE;
}

BuiltinPolicy to_policy(int value) {
  switch (value) {
    case GHTIER_POLICY_SPILL: return BuiltinPolicy::spill;
    case GHTIER_POLICY_DEVICE_ONLY: return BuiltinPolicy::device_only;
    case GHTIER_POLICY_SIZE_THRESHOLD: return BuiltinPolicy::size_threshold;
    case GHTIER_POLICY_HOST_CACHE: return BuiltinPolicy::host_cache;
    case GHTIER_POLICY_UNIFIED: return BuiltinPolicy::unified;
    default: break;
  }
  throw_error(
      ErrorCode::invalid_argument,
      fmt::format("policy = {} is not a ghtier_policy_t (GHTIER_POLICY_SPILL .. GHTIER_POLICY_UNIFIED)", value));
}

Advice to_advice(int value) {
  switch (value) {
    case GHTIER_ADVICE_SET_READ_MOSTLY: return Advice::set_read_mostly;
    case GHTIER_ADVICE_UNSET_READ_MOSTLY: return Advice::unset_read_mostly;
    case GHTIER_ADVICE_SET_PREFERRED_LOCATION: return Advice::set_preferred_location;
    case GHTIER_ADVICE_UNSET_PREFERRED_LOCATION: return Advice::unset_preferred_location;
    case GHTIER_ADVICE_SET_ACCESSED_BY: return Advice::set_accessed_by;
    case GHTIER_ADVICE_UNSET_ACCESSED_BY: return Advice::unset_accessed_by;
    default: break;
  }
  throw_error(ErrorCode::invalid_argument,
              fmt::format("advice = {} is not a ghtier_advice_t (GHTIER_ADVICE_SET_READ_MOSTLY .. "
                          "GHTIER_ADVICE_UNSET_ACCESSED_BY)",
                          value));
}

int32_t from_residency_kind(ResidencyKind kind) noexcept {
  switch (kind) {
    case ResidencyKind::device: return GHTIER_RESIDENCY_DEVICE;
    case ResidencyKind::host: return GHTIER_RESIDENCY_HOST;
    case ResidencyKind::mixed: return GHTIER_RESIDENCY_MIXED;
    case ResidencyKind::not_populated: return GHTIER_RESIDENCY_NOT_POPULATED;
    case ResidencyKind::unknown: return GHTIER_RESIDENCY_UNKNOWN;
  }
  return GHTIER_RESIDENCY_UNKNOWN;
}

int32_t from_residency_source(ResidencySource source) noexcept {
  switch (source) {
    case ResidencySource::allocation_mode: return GHTIER_RESIDENCY_SOURCE_ALLOCATION_MODE;
    case ResidencySource::page_query: return GHTIER_RESIDENCY_SOURCE_PAGE_QUERY;
    case ResidencySource::last_prefetch_location: return GHTIER_RESIDENCY_SOURCE_LAST_PREFETCH_LOCATION;
    case ResidencySource::preferred_location: return GHTIER_RESIDENCY_SOURCE_PREFERRED_LOCATION;
    case ResidencySource::none: return GHTIER_RESIDENCY_SOURCE_NONE;
  }
  return GHTIER_RESIDENCY_SOURCE_NONE;
}

int32_t from_platform_class(PlatformClass c) noexcept {
  switch (c) {
    case PlatformClass::coherent_c2c: return GHTIER_PLATFORM_COHERENT_C2C;
    case PlatformClass::hmm_pcie: return GHTIER_PLATFORM_HMM_PCIE;
    case PlatformClass::pcie: return GHTIER_PLATFORM_PCIE;
  }
  return GHTIER_PLATFORM_PCIE;
}

int32_t from_host_access(HostAccess a) noexcept {
  switch (a) {
    case HostAccess::none: return GHTIER_HOST_ACCESS_NONE;
    case HostAccess::hmm: return GHTIER_HOST_ACCESS_HMM;
    case HostAccess::ats: return GHTIER_HOST_ACCESS_ATS;
  }
  return GHTIER_HOST_ACCESS_NONE;
}

template <std::size_t N>
void copy_text(char (&out)[N], std::string_view text) noexcept {
  const std::size_t n = std::min(text.size(), N - 1);
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

// The smallest request a caller may pass: one that says how many bytes it wants.
constexpr std::size_t min_request_size = offsetof(ghtier_placement_request_t, bytes) + sizeof(std::size_t);

PlacementRequest to_request(const ghtier_placement_request_t* in) {
  ghtier_placement_request_t defaults{};
  defaults.accessor = GHTIER_ACCESSOR_GPU;
  defaults.frequency = GHTIER_FREQUENCY_HOT;
  const ghtier_placement_request_t r = read_versioned(in, defaults, min_request_size, "request");
  PlacementRequest request;
  request.bytes = r.bytes;
  switch (r.accessor) {
    case GHTIER_ACCESSOR_GPU: request.accessor = Accessor::gpu; break;
    case GHTIER_ACCESSOR_CPU: request.accessor = Accessor::cpu; break;
    case GHTIER_ACCESSOR_BOTH: request.accessor = Accessor::both; break;
    default:
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("request->accessor = {} is not a ghtier_accessor_t (GPU, CPU or BOTH)", r.accessor));
  }
  switch (r.frequency) {
    case GHTIER_FREQUENCY_HOT: request.frequency = AccessFrequency::hot; break;
    case GHTIER_FREQUENCY_WARM: request.frequency = AccessFrequency::warm; break;
    case GHTIER_FREQUENCY_COLD: request.frequency = AccessFrequency::cold; break;
    case GHTIER_FREQUENCY_STREAMED_ONCE: request.frequency = AccessFrequency::streamed_once; break;
    default:
      throw_error(
          ErrorCode::invalid_argument,
          fmt::format("request->frequency = {} is not a ghtier_frequency_t (HOT .. STREAMED_ONCE)", r.frequency));
  }
  if ((r.flags & ~GHTIER_REQUEST_READ_MOSTLY) != 0) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("request->flags = {:#x} has bits that are not GHTIER_REQUEST_* flags", r.flags));
  }
  request.read_mostly = (r.flags & GHTIER_REQUEST_READ_MOSTLY) != 0;
  if (r.tag != nullptr) request.tag = r.tag;
  validate(request);
  return request;
}

ghtier_placement_t to_c(const Placement& p) {
  ghtier_placement_t out{};
  out.struct_size = sizeof(out);
  out.mode = from_mode(p.mode);
  out.preferred_location = from_location(p.preferred_location);
  out.accessed_by =
      (p.accessed_by.gpu ? GHTIER_ACCESSED_BY_GPU : 0u) | (p.accessed_by.cpu ? GHTIER_ACCESSED_BY_CPU : 0u);
  out.flags = (p.read_mostly ? GHTIER_PLACEMENT_READ_MOSTLY : 0u) |
              (p.prefetch_to_gpu_now ? GHTIER_PLACEMENT_PREFETCH_TO_GPU : 0u);
  copy_text(out.reason, p.reason);
  return out;
}

void require_output(const void* out, const char* what) {
  if (out == nullptr) throw_error(ErrorCode::invalid_argument, fmt::format("{} (an output) is NULL", what));
}

using BufferNode = std::unordered_map<void*, Buffer>::node_type;

// Takes the C allocation at `ptr` out of the handle's table as the table's own node (so that putting it
// back allocates nothing and cannot fail), or explains why it is not there.
BufferNode take_buffer_node(CRuntime& c, void* ptr) {
  {
    std::lock_guard lock(c.mutex);
    const auto it = c.buffers.find(ptr);
    if (it != c.buffers.end()) return c.buffers.extract(it);
    if (c.closed) {  // the destroy that raced this call freed every allocation, ptr's too
      throw_error(ErrorCode::invalid_argument,
                  "runtime was destroyed by another thread during the call: its allocations were freed");
    }
  }
  if (const auto record = c.runtime->find(ptr)) {
    if (record->base != ptr) {
      throw_error(
          ErrorCode::invalid_argument,
          fmt::format("ptr {} points inside the allocation at {} ({} bytes): pass the pointer ghtier_memory_alloc "
                      "returned",
                      ptr, record->base, record->bytes));
    }
    throw_error(
        ErrorCode::not_found,
        fmt::format("ptr {} belongs to a Buffer of the C++ API, not to ghtier_memory_alloc: its owner frees it", ptr));
  }
  throw_error(ErrorCode::not_found, fmt::format("ptr {} was not allocated by this runtime, or was already freed", ptr));
}

// Takes the C allocation at `ptr` out of the handle's table, or explains why it is not there.
Buffer take_buffer(CRuntime& c, void* ptr) { return std::move(take_buffer_node(c, ptr).mapped()); }

// Records an allocation in the handle's table. Throws Error(invalid_argument) when the runtime was destroyed
// during the call: `buffer` is then freed here, and the caller never sees its pointer.
void put_buffer(CRuntime& c, Buffer buffer) {
  std::lock_guard lock(c.mutex);
  if (c.closed) {
    throw_error(ErrorCode::invalid_argument,
                "runtime was destroyed by another thread during the call: the new allocation was freed");
  }
  void* p = buffer.data();
  c.buffers.emplace(p, std::move(buffer));
}

// Puts a node taken by take_buffer_node back under its (possibly new) key. Allocates no node: with room
// reserved beforehand (no rehash) it cannot fail, so the allocation it holds is not lost on the way back.
void put_buffer_node(CRuntime& c, BufferNode& node) {
  std::lock_guard lock(c.mutex);
  c.buffers.insert(std::move(node));
}

std::optional<ghtier_policy_t> builtin_policy_of(const TierPolicy& policy) noexcept {
  if (dynamic_cast<const SpillPolicy*>(&policy) != nullptr) return GHTIER_POLICY_SPILL;
  if (dynamic_cast<const DeviceOnlyPolicy*>(&policy) != nullptr) return GHTIER_POLICY_DEVICE_ONLY;
  if (dynamic_cast<const SizeThresholdPolicy*>(&policy) != nullptr) return GHTIER_POLICY_SIZE_THRESHOLD;
  if (dynamic_cast<const HostCachePolicy*>(&policy) != nullptr) return GHTIER_POLICY_HOST_CACHE;
  if (dynamic_cast<const UnifiedPolicy*>(&policy) != nullptr) return GHTIER_POLICY_UNIFIED;
  return std::nullopt;
}

// The bodies shared by the stream-ordered and the _sync forms (stream nullptr: not stream-ordered).
void allocate(ghtier_runtime_t* runtime, const ghtier_placement_request_t* request, cudaStream_t stream, void** ptr,
              ghtier_placement_t* placement) {
  auto c = get_runtime(runtime);
  require_output(ptr, "ptr");
  *ptr = nullptr;
  const PlacementRequest r = to_request(request);
  if (placement != nullptr) check_output(placement, "placement");
  Buffer buffer = c->runtime->allocate(r, stream);
  void* p = buffer.data();
  const ghtier_placement_t chosen = to_c(buffer.placement());
  put_buffer(*c, std::move(buffer));
  if (placement != nullptr) write_versioned(placement, chosen);
  *ptr = p;
}

void allocate_in(ghtier_runtime_t* runtime, int mode, std::size_t bytes, cudaStream_t stream, void** ptr) {
  auto c = get_runtime(runtime);
  require_output(ptr, "ptr");
  *ptr = nullptr;
  const MemoryMode m = to_mode(mode, "mode");
  if (bytes == 0) throw_error(ErrorCode::invalid_argument, "bytes is 0: an allocation needs at least one byte");
  if (bytes > max_request_bytes) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("bytes = {} is absurd (more than {} bytes)", bytes, max_request_bytes));
  }
  Buffer buffer = c->runtime->allocate_in(m, bytes, stream);
  void* p = buffer.data();
  put_buffer(*c, std::move(buffer));
  *ptr = p;
}

void relocate(ghtier_runtime_t* runtime, void* ptr, int mode, cudaStream_t stream, void** new_ptr) {
  auto c = get_runtime(runtime);
  require_output(new_ptr, "new_ptr");
  *new_ptr = nullptr;
  if (ptr == nullptr) throw_error(ErrorCode::invalid_argument, "ptr is NULL");
  const MemoryMode m = to_mode(mode, "mode");
  {
    std::lock_guard lock(c->mutex);
    c->buffers.reserve(c->buffers.size() + 1);  // so that putting the node back does not rehash
  }
  // The old allocation stays in its table node throughout: on failure the node goes back as it was, on
  // success it carries the new allocation. Neither way allocates, so neither can lose an allocation.
  auto node = take_buffer_node(*c, ptr);
  Buffer moved;
  try {
    moved = c->runtime->relocate_to(std::move(node.mapped()), m, stream);
  } catch (...) {
    put_buffer_node(*c, node);  // relocate_to leaves the buffer as it was on failure
    throw;
  }
  void* p = moved.data();
  node.key() = p;
  node.mapped() = std::move(moved);  // the old buffer is empty now (freed after the copy): nothing to free here
  put_buffer_node(*c, node);
  *new_ptr = p;
}

}  // namespace

MemoryResource& kernel_resource(Runtime& runtime) {
  return runtime.has_mode(MemoryMode::device) ? runtime.resource(MemoryMode::device) : default_device_resource();
}

std::shared_ptr<Runtime> shared_runtime_of(ghtier_runtime_t* handle) { return get_runtime(handle)->runtime; }

std::shared_ptr<Runtime> gpu_runtime_of(ghtier_runtime_t* handle, const char* who) {
  std::shared_ptr<Runtime> runtime = shared_runtime_of(handle);
  if (runtime->offline()) {
    throw_error(ErrorCode::unsupported,
                fmt::format("runtime is offline (created with an assumed_profile): {} needs a GPU", who));
  }
  return runtime;
}

ghtier_runtime_t* make_handle(std::shared_ptr<Runtime> runtime) {
  if (!runtime) throw_error(ErrorCode::invalid_argument, "make_handle: the runtime is null");
  auto c = std::make_shared<CRuntime>();
  c->runtime = std::move(runtime);
  return add_handle<ghtier_runtime_t>(HandleKind::runtime, std::move(c));
}

}  // namespace ghtier::capi

using ghtier::capi::guarded;

extern "C" {

ghtier_status_t ghtier_runtime_create(const ghtier_runtime_options_t* options, ghtier_runtime_t** runtime) {
  return guarded("ghtier_runtime_create", [&] {
    using namespace ghtier;
    capi::require_output(runtime, "runtime");
    *runtime = nullptr;
    ghtier_runtime_options_t defaults{};
    defaults.struct_size = sizeof(defaults);
    const ghtier_runtime_options_t o =
        options == nullptr ? defaults : capi::read_versioned(options, defaults, sizeof(std::size_t), "options");
    RuntimeOptions cpp;
    cpp.device = o.device;
    const BuiltinPolicy policy = capi::to_policy(o.policy);
    cpp.policy =
        make_builtin_policy(policy, o.size_threshold_bytes == 0 ? default_size_threshold : o.size_threshold_bytes);
    auto budget = [](std::size_t b) { return b == 0 ? unlimited_bytes : b; };
    cpp.device_budget = budget(o.device_budget_bytes);
    cpp.pinned_host_budget = budget(o.pinned_host_budget_bytes);
    cpp.managed_budget = budget(o.managed_budget_bytes);
    cpp.system_budget = budget(o.system_budget_bytes);
    if (o.assumed_profile != nullptr) {
      cpp.assumed_profile = o.assumed_profile;
      if (cpp.assumed_profile.empty()) {
        throw_error(
            ErrorCode::invalid_argument,
            "options->assumed_profile is \"\": name a profile (gh200-c2c, pcie-gen5-hmm, pcie-gen5) or pass NULL");
      }
      if (o.device < 0) {
        throw_error(ErrorCode::invalid_argument,
                    fmt::format("options->device = {}: an offline runtime (assumed_profile) models one GPU by its "
                                "number, which must be 0 or more",
                                o.device));
      }
    } else if (o.device < -1) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("options->device = {} is not a device (0, 1, ... or -1 for the current one)", o.device));
    }
    cpp.pinned_host.initial_bytes = o.pinned_reserve_bytes;
    auto c = std::make_shared<capi::CRuntime>();
    c->runtime = std::make_shared<Runtime>(cpp);
    *runtime = capi::add_handle<ghtier_runtime_t>(capi::HandleKind::runtime, std::move(c));
  });
}

ghtier_status_t ghtier_runtime_destroy(ghtier_runtime_t* runtime) {
  return guarded("ghtier_runtime_destroy", [&] {
    if (runtime == nullptr) return;
    using namespace ghtier::capi;
    // Calls in flight keep the runtime alive (they hold a share); the last holder destroys it.
    remove_handle<CRuntime>(runtime, HandleKind::runtime, "runtime")->close();
  });
}

ghtier_status_t ghtier_runtime_get_platform_info(ghtier_runtime_t* runtime, ghtier_platform_info_t* info) {
  return guarded("ghtier_runtime_get_platform_info", [&] {
    auto c = ghtier::capi::get_runtime(runtime);
    ghtier::capi::check_output(info, "info");
    const ghtier::Platform& p = c->runtime->platform();
    const ghtier::DeviceAttributes& a = p.attributes;
    ghtier_platform_info_t out{};
    out.struct_size = sizeof(out);
    out.device = c->runtime->device();
    out.platform_class = ghtier::capi::from_platform_class(p.platform_class);
    out.host_access = ghtier::capi::from_host_access(p.host_access);
    out.coherent = p.coherent ? 1 : 0;
    out.managed_migrates = p.managed_migrates ? 1 : 0;
    out.gpu_reads_pageable = p.gpu_reads_pageable ? 1 : 0;
    out.compute_major = a.compute_major;
    out.compute_minor = a.compute_minor;
    out.sm_count = a.sm_count;
    out.async_engine_count = a.async_engine_count;
    out.host_numa_id = a.host_numa_id;
    out.offline = c->runtime->offline() ? 1 : 0;
    out.hbm_bytes = a.hbm_bytes;
    out.h2d_gbps = p.link.h2d_gbps;
    out.d2h_gbps = p.link.d2h_gbps;
    out.bidirectional_gbps = p.link.bidirectional_gbps;
    out.sm_read_gbps = p.link.sm_read_gbps;
    out.sm_write_gbps = p.link.sm_write_gbps;
    out.hbm_gbps = p.link.hbm_gbps;
    out.latency_us = p.link.latency_us;
    ghtier::capi::copy_text(out.name, a.name);
    ghtier::capi::write_versioned(info, out);
  });
}

ghtier_status_t ghtier_runtime_set_policy(ghtier_runtime_t* runtime, ghtier_policy_t policy,
                                          size_t size_threshold_bytes) {
  return guarded("ghtier_runtime_set_policy", [&] {
    auto c = ghtier::capi::get_runtime(runtime);
    const ghtier::BuiltinPolicy kind = ghtier::capi::to_policy(ghtier::capi::c_enum_value(policy));
    // The Runtime's policy is the one source of truth: one atomic replacement, read back by get_policy.
    c->runtime->set_policy(ghtier::make_builtin_policy(
        kind, size_threshold_bytes == 0 ? ghtier::default_size_threshold : size_threshold_bytes));
  });
}

ghtier_status_t ghtier_runtime_get_policy(ghtier_runtime_t* runtime, ghtier_policy_t* policy) {
  return guarded("ghtier_runtime_get_policy", [&] {
    auto c = ghtier::capi::get_runtime(runtime);
    ghtier::capi::require_output(policy, "policy");
    const std::shared_ptr<const ghtier::TierPolicy> in_force = c->runtime->policy();
    const auto builtin = ghtier::capi::builtin_policy_of(*in_force);
    if (!builtin) {
      ghtier::throw_error(
          ghtier::ErrorCode::unsupported,
          fmt::format("the runtime's policy '{}' was set from C++ and is not a built-in policy", in_force->name()));
    }
    *policy = *builtin;
  });
}

ghtier_status_t ghtier_runtime_resolve(ghtier_runtime_t* runtime, const ghtier_placement_request_t* request,
                                       ghtier_placement_t* placement) {
  return guarded("ghtier_runtime_resolve", [&] {
    auto c = ghtier::capi::get_runtime(runtime);
    const ghtier::PlacementRequest r = ghtier::capi::to_request(request);
    ghtier::capi::check_output(placement, "placement");
    ghtier::capi::write_versioned(placement, ghtier::capi::to_c(c->runtime->resolve(r)));
  });
}

ghtier_status_t ghtier_memory_alloc(ghtier_runtime_t* runtime, const ghtier_placement_request_t* request, void* stream,
                                    void** ptr, ghtier_placement_t* placement) {
  return guarded("ghtier_memory_alloc", [&] {
    ghtier::capi::allocate(runtime, request, ghtier::capi::ordered_stream(stream), ptr, placement);
  });
}

ghtier_status_t ghtier_memory_alloc_sync(ghtier_runtime_t* runtime, const ghtier_placement_request_t* request,
                                         void** ptr, ghtier_placement_t* placement) {
  return guarded("ghtier_memory_alloc_sync",
                 [&] { ghtier::capi::allocate(runtime, request, /*not stream-ordered*/ nullptr, ptr, placement); });
}

ghtier_status_t ghtier_memory_alloc_mode(ghtier_runtime_t* runtime, ghtier_memory_mode_t mode, size_t bytes,
                                         void* stream, void** ptr) {
  return guarded("ghtier_memory_alloc_mode", [&] {
    ghtier::capi::allocate_in(runtime, ghtier::capi::c_enum_value(mode), bytes, ghtier::capi::ordered_stream(stream),
                              ptr);
  });
}

ghtier_status_t ghtier_memory_alloc_mode_sync(ghtier_runtime_t* runtime, ghtier_memory_mode_t mode, size_t bytes,
                                              void** ptr) {
  return guarded("ghtier_memory_alloc_mode_sync", [&] {
    ghtier::capi::allocate_in(runtime, ghtier::capi::c_enum_value(mode), bytes, /*not stream-ordered*/ nullptr, ptr);
  });
}

ghtier_status_t ghtier_memory_free(ghtier_runtime_t* runtime, void* ptr, void* stream) {
  return guarded("ghtier_memory_free", [&] {
    auto c = ghtier::capi::get_runtime(runtime);
    if (ptr == nullptr) return;
    ghtier::Buffer buffer = ghtier::capi::take_buffer(*c, ptr);
    buffer.reset(ghtier::capi::ordered_stream(stream));
  });
}

ghtier_status_t ghtier_memory_free_sync(ghtier_runtime_t* runtime, void* ptr) {
  return guarded("ghtier_memory_free_sync", [&] {
    auto c = ghtier::capi::get_runtime(runtime);
    if (ptr == nullptr) return;
    ghtier::Buffer buffer = ghtier::capi::take_buffer(*c, ptr);
    buffer.reset(/*at once*/ nullptr);
  });
}

ghtier_status_t ghtier_memory_get_info(ghtier_runtime_t* runtime, const void* ptr, ghtier_allocation_info_t* info) {
  return guarded("ghtier_memory_get_info", [&] {
    auto c = ghtier::capi::get_runtime(runtime);
    if (ptr == nullptr) ghtier::throw_error(ghtier::ErrorCode::invalid_argument, "ptr is NULL");
    ghtier::capi::check_output(info, "info");
    const auto record = c->runtime->find(ptr);
    if (!record) {
      ghtier::throw_error(ghtier::ErrorCode::not_found,
                          fmt::format("ptr {} is not inside a live allocation of this runtime", ptr));
    }
    ghtier_allocation_info_t out{};
    out.struct_size = sizeof(out);
    out.base = record->base;
    out.bytes = record->bytes;
    out.mode = ghtier::capi::from_mode(record->mode);
    ghtier::capi::copy_text(out.tag, record->tag);
    ghtier::capi::write_versioned(info, out);
  });
}

ghtier_status_t ghtier_memory_relocate(ghtier_runtime_t* runtime, void* ptr, ghtier_memory_mode_t mode, void* stream,
                                       void** new_ptr) {
  return guarded("ghtier_memory_relocate", [&] {
    ghtier::capi::relocate(runtime, ptr, ghtier::capi::c_enum_value(mode), ghtier::capi::ordered_stream(stream),
                           new_ptr);
  });
}

ghtier_status_t ghtier_memory_relocate_sync(ghtier_runtime_t* runtime, void* ptr, ghtier_memory_mode_t mode,
                                            void** new_ptr) {
  return guarded("ghtier_memory_relocate_sync", [&] {
    ghtier::capi::relocate(runtime, ptr, ghtier::capi::c_enum_value(mode), /*not stream-ordered*/ nullptr, new_ptr);
  });
}

ghtier_status_t ghtier_memory_prefetch(ghtier_runtime_t* runtime, const void* ptr, size_t bytes,
                                       ghtier_location_t location, void* stream) {
  return guarded("ghtier_memory_prefetch", [&] {
    auto c = ghtier::capi::get_runtime(runtime);
    const ghtier::Location l = ghtier::capi::to_location(ghtier::capi::c_enum_value(location), "location");
    if (l == ghtier::Location::none) {
      ghtier::throw_error(
          ghtier::ErrorCode::invalid_argument,
          "location is GHTIER_LOCATION_NONE: prefetch to GHTIER_LOCATION_DEVICE or GHTIER_LOCATION_HOST");
    }
    if (bytes == 0) return;  // a zero-byte transfer is a valid no-op everywhere (as in the engine)
    c->runtime->prefetch(ptr, bytes, l, ghtier::capi::ordered_stream(stream));
  });
}

ghtier_status_t ghtier_memory_advise(ghtier_runtime_t* runtime, const void* ptr, size_t bytes, ghtier_advice_t advice,
                                     ghtier_location_t location) {
  return guarded("ghtier_memory_advise", [&] {
    auto c = ghtier::capi::get_runtime(runtime);
    const ghtier::Advice a = ghtier::capi::to_advice(ghtier::capi::c_enum_value(advice));
    const ghtier::Location l = ghtier::capi::to_location(ghtier::capi::c_enum_value(location), "location");
    c->runtime->advise(ptr, bytes, a, l);
  });
}

ghtier_status_t ghtier_memory_get_residency(ghtier_runtime_t* runtime, const void* ptr, size_t bytes,
                                            ghtier_residency_t* residency) {
  return guarded("ghtier_memory_get_residency", [&] {
    auto c = ghtier::capi::get_runtime(runtime);
    ghtier::capi::check_output(residency, "residency");
    const ghtier::Residency r = c->runtime->residency(ptr, bytes);
    ghtier_residency_t out{};
    out.struct_size = sizeof(out);
    out.where = ghtier::capi::from_residency_kind(r.where);
    out.numa_node = r.numa_node;
    out.device_bytes = r.device_bytes;
    out.host_bytes = r.host_bytes;
    out.unknown_bytes = r.unknown_bytes;
    out.source = ghtier::capi::from_residency_source(r.source);
    out.approximate = r.approximate() ? 1 : 0;
    ghtier::capi::write_versioned(residency, out);
  });
}

ghtier_status_t ghtier_runtime_get_statistics(ghtier_runtime_t* runtime, ghtier_memory_mode_t mode,
                                              ghtier_statistics_t* statistics) {
  return guarded("ghtier_runtime_get_statistics", [&] {
    auto c = ghtier::capi::get_runtime(runtime);
    const ghtier::MemoryMode m = ghtier::capi::to_mode(ghtier::capi::c_enum_value(mode), "mode");
    ghtier::capi::check_output(statistics, "statistics");
    const ghtier::AllocationStatistics s = c->runtime->statistics(m);
    ghtier_statistics_t out{};
    out.struct_size = sizeof(out);
    out.current_bytes = s.current_bytes;
    out.peak_bytes = s.peak_bytes;
    out.current_allocations = s.current_allocations;
    out.total_allocations = s.total_allocations;
    out.total_bytes = s.total_bytes;
    out.failed_allocations = s.failed_allocations;
    out.budget_bytes = c->runtime->budget(m);
    ghtier::capi::write_versioned(statistics, out);
  });
}

ghtier_status_t ghtier_runtime_set_budget(ghtier_runtime_t* runtime, ghtier_memory_mode_t mode, size_t bytes) {
  return guarded("ghtier_runtime_set_budget", [&] {
    auto c = ghtier::capi::get_runtime(runtime);
    c->runtime->set_budget(ghtier::capi::to_mode(ghtier::capi::c_enum_value(mode), "mode"), bytes);
  });
}

ghtier_status_t ghtier_runtime_get_budget(ghtier_runtime_t* runtime, ghtier_memory_mode_t mode, size_t* budget,
                                          size_t* used) {
  return guarded("ghtier_runtime_get_budget", [&] {
    auto c = ghtier::capi::get_runtime(runtime);
    const ghtier::MemoryMode m = ghtier::capi::to_mode(ghtier::capi::c_enum_value(mode), "mode");
    if (budget != nullptr) *budget = c->runtime->budget(m);
    if (used != nullptr) *used = c->runtime->budget_used(m);
  });
}

}  // extern "C"
