// Runtime: construction (ghtier's own resources, the caller's, or none for an offline runtime), policy-driven
// allocation with re-resolution on refusal, budgets, statistics, prefetch, advise, residency, relocation.
#include "ghtier/runtime/runtime.hpp"

#include <array>
#include <optional>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "core/memory/node_budget_adaptor.hpp"
#include "core/memory/range_advice.hpp"
#include "core/runtime/page_residency.hpp"
#include "core/runtime/runtime_core.hpp"
#include "core/support/blocking_copy.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/device_selection.hpp"
#include "core/support/log.hpp"
#include "core/support/nvtx_range.hpp"
#include "ghtier/error.hpp"
#include "ghtier/memory/managed_resource.hpp"
#include "ghtier/memory/pinned_host_pool_resource.hpp"
#include "ghtier/policy/spill_policy.hpp"

namespace ghtier {

namespace {

std::array<std::size_t, 4> budgets_of(const RuntimeOptions& o) {
  return {o.device_budget, o.pinned_host_budget, o.managed_budget, o.system_budget};
}

std::shared_ptr<const TierPolicy> policy_or_default(const RuntimeOptions& o) {
  return o.policy ? o.policy : std::make_shared<SpillPolicy>();
}

// The pinned_host resource the options ask for: registered regions (the default) or CUDA's pinned host pool.
std::shared_ptr<MemoryResource> make_pinned_host_resource(const PinnedHostOptions& options) {
  if (options.backing == PinnedBacking::cuda_pool) {
    return std::make_shared<PinnedHostPoolResource>(PinnedHostPoolOptions{.device = options.device,
                                                                          .numa_node = options.numa_node,
                                                                          .initial_bytes = options.initial_bytes,
                                                                          .touch_threads = options.touch_threads});
  }
  return std::make_shared<PinnedHostResource>(options);  // refuses a backing it does not know
}

// The node-wide host budget the options (or GHTIER_NODE_BUDGET) name, over the host tiers that have a
// resource: both tiers share one NodeBudget, so a process holds one slot for its pinned and system bytes.
void apply_node_budget(std::array<std::shared_ptr<MemoryResource>, 4>& upstreams, const RuntimeOptions& options) {
  std::optional<detail::NodeBudgetSpec> spec;
  if (options.node_budget == "off") return;
  if (!options.node_budget.empty()) {
    spec = detail::parse_node_budget_spec(options.node_budget, "RuntimeOptions::node_budget");
  } else {
    spec = detail::node_budget_from_environment();
  }
  if (!spec) return;
  auto budget = std::make_shared<detail::NodeBudget>(*spec);
  for (std::size_t i : {std::size_t{1}, std::size_t{3}}) {  // pinned_host, system
    if (upstreams[i]) upstreams[i] = std::make_shared<detail::NodeBudgetAdaptor>(std::move(upstreams[i]), budget);
  }
  log(LogLevel::info, "ghtier::Runtime: host tiers under node budget {} ({} bytes for the node, {} held now)",
      budget->name(), budget->limit(), budget->used());
}

std::shared_ptr<detail::RuntimeCore> make_offline_core(const RuntimeOptions& options) {
  Platform platform = assume_platform(options.assumed_profile);  // throws not_found for an unknown name
  return std::make_shared<detail::RuntimeCore>(
      std::move(platform), options.device, /*offline=*/true, std::array<std::shared_ptr<MemoryResource>, 4>{},
      budgets_of(options), policy_or_default(options),
      fmt::format("the runtime is offline (assumed profile '{}', no GPU)", options.assumed_profile));
}

std::shared_ptr<detail::RuntimeCore> make_device_core(const RuntimeOptions& options) {
  int device = 0;
  try {
    device = detail::resolve_device(options.device, "ghtier::Runtime");
  } catch (const Error& e) {
    if (e.code() != ErrorCode::no_device) throw;
    throw_error(ErrorCode::no_device,
                std::string(e.what()) +
                    "; ghtier needs a GPU to allocate (RuntimeOptions::assumed_profile makes an offline runtime "
                    "that resolves placements without one)",
                e.cuda_status());
  }
  const DeviceAttributes attributes = query_device_attributes(device);
  Platform platform = classify(attributes, default_link_model(attributes, options.link_model));
  detail::ScopedDevice on_device(device);
  std::array<std::shared_ptr<MemoryResource>, 4> upstreams;
  DevicePoolOptions pool = options.device_pool;
  pool.device = device;
  upstreams[0] = std::make_shared<DevicePoolResource>(pool);
  PinnedHostOptions pinned = options.pinned_host;
  pinned.device = device;
  upstreams[1] = make_pinned_host_resource(pinned);
  try {
    ManagedOptions managed;
    managed.device = device;
    upstreams[2] = std::make_shared<ManagedResource>(managed);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::unsupported) throw;
    log(LogLevel::info, "ghtier::Runtime: no managed memory on device {}: {}", device, e.what());
  }
  upstreams[3] = std::make_shared<SystemResource>(options.system);
  apply_node_budget(upstreams, options);
  log(LogLevel::info, "ghtier::Runtime on device {} ({}, {})", device, platform.attributes.name,
      to_string(platform.platform_class));
  return std::make_shared<detail::RuntimeCore>(std::move(platform), device, /*offline=*/false, std::move(upstreams),
                                               budgets_of(options), policy_or_default(options), "not provided");
}

void check_resource(const std::shared_ptr<MemoryResource>& r, MemoryMode mode, const char* member) {
  if (r && r->mode() != mode) {
    throw_error(ErrorCode::invalid_argument, fmt::format("RuntimeResources::{} hands out {} memory, not {}", member,
                                                         to_string(r->mode()), to_string(mode)));
  }
}

}  // namespace

Runtime::Runtime(const RuntimeOptions& options)
    : core_(options.assumed_profile.empty() ? make_device_core(options) : make_offline_core(options)) {}

Runtime::Runtime(Platform platform, RuntimeResources resources, const RuntimeOptions& options) {
  check_resource(resources.device, MemoryMode::device, "device");
  check_resource(resources.pinned_host, MemoryMode::pinned_host, "pinned_host");
  check_resource(resources.managed, MemoryMode::managed, "managed");
  check_resource(resources.system, MemoryMode::system, "system");
  std::array<std::shared_ptr<MemoryResource>, 4> upstreams{std::move(resources.device),
                                                           std::move(resources.pinned_host),
                                                           std::move(resources.managed), std::move(resources.system)};
  apply_node_budget(upstreams, options);
  core_ = std::make_shared<detail::RuntimeCore>(std::move(platform), options.device, /*offline=*/false,
                                                std::move(upstreams), budgets_of(options), policy_or_default(options),
                                                "the runtime was given no resource for it");
}

Runtime::~Runtime() = default;

const Platform& Runtime::platform() const noexcept { return core_->platform(); }
int Runtime::device() const noexcept { return core_->device(); }
bool Runtime::offline() const noexcept { return core_->offline(); }
bool Runtime::has_mode(MemoryMode mode) const noexcept {
  const std::size_t i = static_cast<std::size_t>(mode);
  return i < 4 && core_->tier(mode).available;
}

void Runtime::set_policy(std::shared_ptr<const TierPolicy> policy) { core_->set_policy(std::move(policy)); }
std::shared_ptr<const TierPolicy> Runtime::policy() const { return core_->policy(); }

Placement Runtime::resolve(const PlacementRequest& request) const {
  return core_->policy()->resolve(request, core_->platform(), budget_view());
}

Buffer Runtime::allocate(const PlacementRequest& request, cudaStream_t stream) {
  detail::NvtxRange range("ghtier::allocate", request.bytes);
  const auto policy = core_->policy();
  BudgetView view = budget_view();
  Placement placement = policy->resolve(request, core_->platform(), view);
  // Each refusal zeroes the refusing tier's room in the view, so this ends after at most one try per mode.
  for (;;) {
    try {
      return core_->allocate_placed(placement, request.bytes, request.tag, stream);
    } catch (const Error& e) {
      const bool refused = e.code() == ErrorCode::out_of_budget ||
                           (e.code() == ErrorCode::out_of_memory && placement.mode == MemoryMode::device);
      if (!refused) throw;
      view.set_free_in(placement.mode, 0);
      Placement next = policy->resolve(request, core_->platform(), view);
      if (next.mode == placement.mode) throw;
      log(LogLevel::debug, "allocate: {} refused {} bytes ({}); policy '{}' re-resolved to {}",
          to_string(placement.mode), request.bytes, e.what(), policy->name(), describe(next));
      placement = std::move(next);
    }
  }
}

Buffer Runtime::allocate_in(MemoryMode mode, std::size_t bytes, cudaStream_t stream, const std::string& tag) {
  detail::NvtxRange range("ghtier::allocate", bytes);
  // A constant reason per mode: this is the PyTorch allocator's path, called for every tensor (no formatting).
  static constexpr std::array<std::string_view, 4> reasons{
      "allocate_in: device requested directly", "allocate_in: pinned_host requested directly",
      "allocate_in: managed requested directly", "allocate_in: system requested directly"};
  const std::size_t i = detail::mode_index(mode, "allocate_in: mode");
  if (bytes == 0) throw_error(ErrorCode::invalid_argument, "allocate_in: bytes is 0");
  Placement placement;
  placement.mode = mode;
  placement.reason = reasons[i];
  return core_->allocate_placed(placement, bytes, tag, stream);
}

void Runtime::set_budget(MemoryMode mode, std::size_t bytes) {
  (void)detail::mode_index(mode, "set_budget: mode");
  core_->tier(mode).budget->set_limit(bytes);
}

std::size_t Runtime::budget(MemoryMode mode) const {
  (void)detail::mode_index(mode, "budget: mode");
  return core_->tier(mode).budget->limit();
}

std::size_t Runtime::budget_used(MemoryMode mode) const {
  (void)detail::mode_index(mode, "budget_used: mode");
  return core_->tier(mode).budget->used();
}

BudgetView Runtime::budget_view() const {
  BudgetView view;
  for (MemoryMode mode : all_memory_modes) {
    const BudgetAdaptor& b = *core_->tier(mode).budget;
    view.set_free_in(mode, b.limit() == unlimited_bytes ? unlimited_bytes : b.available());
  }
  return view;
}

AllocationStatistics Runtime::statistics(MemoryMode mode) const {
  (void)detail::mode_index(mode, "statistics: mode");
  return core_->tier(mode).statistics->statistics();
}

MemoryResource& Runtime::resource(MemoryMode mode) {
  (void)detail::mode_index(mode, "resource: mode");
  if (!has_mode(mode)) {
    throw_error(ErrorCode::unsupported, fmt::format("Runtime::resource: this runtime has no {} resource{}",
                                                    to_string(mode), offline() ? " (it is offline)" : ""));
  }
  return *core_->tier(mode).tracker;
}

void Runtime::reset_peaks() {
  for (MemoryMode mode : all_memory_modes) core_->tier(mode).statistics->reset_peak();
}

std::optional<AllocationRecord> Runtime::find(const void* p) const { return core_->find(p); }

void Runtime::quiesce() const { core_->quiesce(); }

std::vector<AllocationRecord> Runtime::live_allocations() const {
  std::vector<AllocationRecord> all;
  for (MemoryMode mode : all_memory_modes) {
    auto some = core_->tier(mode).tracker->live_allocations();
    all.insert(all.end(), some.begin(), some.end());
  }
  return all;
}

std::optional<Placement> Runtime::placement_of(const void* p) const { return core_->placement_of(p); }

void Runtime::prefetch(const void* p, std::size_t bytes, Location location, cudaStream_t stream) {
  detail::NvtxRange range("ghtier::prefetch", bytes);
  const AllocationRecord record = core_->checked_range(p, bytes, "prefetch");
  if (location != Location::device && location != Location::host) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("prefetch: location {} is not device or host", static_cast<int>(location)));
  }
  core_->require_movable(record.mode, "prefetch");
  detail::ScopedDevice on_device(core_->device());
  detail::prefetch_range(p, bytes, location, core_->device(), stream);
}

void Runtime::prefetch(const Buffer& buffer, Location location, cudaStream_t stream) {
  prefetch(buffer.data(), buffer.size(), location, stream);
}

void Runtime::advise(const void* p, std::size_t bytes, Advice advice, Location location) {
  detail::NvtxRange range("ghtier::advise", bytes);
  const AllocationRecord record = core_->checked_range(p, bytes, "advise");
  if (to_string(advice) == "unknown") {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("advise: advice {} is not an Advice value", static_cast<int>(advice)));
  }
  if (advice_takes_location(advice) && location != Location::device && location != Location::host) {
    throw_error(ErrorCode::invalid_argument, fmt::format("advise: {} needs a location of device or host, not {}",
                                                         to_string(advice), to_string(location)));
  }
  core_->require_movable(record.mode, "advise");
  detail::ScopedDevice on_device(core_->device());
  detail::apply_advice(p, bytes, advice, location, core_->device());
}

void Runtime::advise(const Buffer& buffer, Advice advice, Location location) {
  advise(buffer.data(), buffer.size(), advice, location);
}

Residency Runtime::residency(const void* p, std::size_t bytes) const {
  const AllocationRecord record = core_->checked_range(p, bytes, "residency");
  Residency r;
  switch (record.mode) {
    case MemoryMode::device:
      r.where = ResidencyKind::device;
      r.device_bytes = bytes;
      r.source = ResidencySource::allocation_mode;
      return r;
    case MemoryMode::pinned_host: {
      r.where = ResidencyKind::host;
      r.host_bytes = bytes;
      r.source = ResidencySource::allocation_mode;
      // Pinned pages cannot move; the page table still says which node holds them (best effort).
      try {
        r.numa_node = detail::query_page_residency(p, bytes, -1).numa_node;
      } catch (const Error&) {
        r.numa_node = -1;
      }
      return r;
    }
    case MemoryMode::system: return detail::query_page_residency(p, bytes, core_->platform().attributes.numa_id);
    case MemoryMode::managed: {
      detail::ScopedDevice on_device(core_->device());
      const detail::RangeAdvice advice = detail::query_range_advice(p, bytes, core_->device());
      const detail::DriverLocation& where =
          advice.last_prefetch.location != Location::none ? advice.last_prefetch : advice.preferred;
      r.source = advice.last_prefetch.location != Location::none ? ResidencySource::last_prefetch_location
                 : advice.preferred.location != Location::none   ? ResidencySource::preferred_location
                                                                 : ResidencySource::none;
      if (where.location == Location::device) {
        r.where = ResidencyKind::device;
        r.device_bytes = bytes;
      } else if (where.location == Location::host) {
        r.where = ResidencyKind::host;
        r.host_bytes = bytes;
        r.numa_node = where.numa_node;
      } else {
        r.where = ResidencyKind::unknown;
        r.unknown_bytes = bytes;
      }
      return r;
    }
  }
  throw_error(ErrorCode::internal, "residency: allocation with an invalid mode");
}

Residency Runtime::residency(const Buffer& buffer) const { return residency(buffer.data(), buffer.size()); }

Buffer Runtime::relocate_to(Buffer&& buffer, MemoryMode mode, cudaStream_t stream) {
  detail::NvtxRange range("ghtier::relocate", buffer.size());
  core_->require_online("relocate_to");
  (void)detail::mode_index(mode, "relocate_to: mode");
  if (buffer.empty()) throw_error(ErrorCode::invalid_argument, "relocate_to: the buffer is empty");
  const auto record = core_->find(buffer.data());
  if (!record || record->base != buffer.data()) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("relocate_to: the buffer at {} was not allocated by this runtime", buffer.data()));
  }
  Placement placement;
  placement.mode = mode;
  placement.reason = fmt::format("relocated from {}", to_string(buffer.mode()));
  // `buffer` is left alone until the copy is queued: whatever throws before that (the allocation refused, the
  // device, the event, the copy call) frees only `moved`, and the caller still owns the old allocation.
  Buffer moved = core_->allocate_placed(placement, buffer.size(), buffer.tag(), stream);
  detail::ScopedDevice on_device(core_->device());
  const cudaStream_t previous = buffer.stream();
  if (stream != nullptr) {
    // Work still queued on the buffer's own stream must finish before the copy reads the bytes.
    if (previous != nullptr && previous != stream) {
      struct EventGuard {
        cudaEvent_t event = nullptr;
        ~EventGuard() {
          if (event != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(event));
        }
      } ready;
      GHTIER_CUDA_CHECK(cudaEventCreateWithFlags(&ready.event, cudaEventDisableTiming));
      GHTIER_CUDA_CHECK(cudaEventRecord(ready.event, previous));
      GHTIER_CUDA_CHECK(cudaStreamWaitEvent(stream, ready.event, 0));
    }
    GHTIER_CUDA_CHECK(cudaMemcpyAsync(moved.data(), buffer.data(), buffer.size(), cudaMemcpyDefault, stream));
  } else {
    if (previous != nullptr) GHTIER_CUDA_CHECK(cudaStreamSynchronize(previous));
    detail::blocking_copy(moved.data(), buffer.data(), buffer.size());  // landed when relocate_to returns
  }
  buffer.reset(stream);  // stream-ordered after the copy (or at once after a synchronous one)
  return moved;
}

}  // namespace ghtier
