// RuntimeCore: the per-mode stacks, allocation with the placement's advice, and checked range lookup.
#include "core/runtime/runtime_core.hpp"

#include <utility>

#include <fmt/format.h>

#include "core/memory/range_advice.hpp"
#include "core/memory/unavailable_resource.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/device_selection.hpp"
#include "core/support/log_nothrow.hpp"
#include "core/support/nvtx_range.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

std::size_t mode_index(MemoryMode mode, const char* what) {
  switch (mode) {
    case MemoryMode::device: return 0;
    case MemoryMode::pinned_host: return 1;
    case MemoryMode::managed: return 2;
    case MemoryMode::system: return 3;
  }
  throw_error(ErrorCode::invalid_argument,
              fmt::format("{} {} is not one of device, pinned_host, managed, system", what, static_cast<int>(mode)));
}

RuntimeCore::RuntimeCore(Platform platform, int device, bool offline,
                         std::array<std::shared_ptr<MemoryResource>, 4> upstreams,
                         const std::array<std::size_t, 4>& budgets, std::shared_ptr<const TierPolicy> policy,
                         const std::string& why_unavailable)
    : platform_(std::move(platform)), device_(device), offline_(offline), policy_(std::move(policy)) {
  for (MemoryMode mode : all_memory_modes) {
    const std::size_t i = mode_index(mode, "memory mode");
    Tier& t = tiers_[i];
    t.available = upstreams[i] != nullptr;
    t.upstream = t.available ? std::move(upstreams[i]) : std::make_shared<UnavailableResource>(mode, why_unavailable);
    t.budget = std::make_unique<BudgetAdaptor>(*t.upstream, budgets[i]);
    t.statistics = std::make_unique<StatisticsAdaptor>(*t.budget);
    t.tracker = std::make_unique<TrackingAdaptor>(*t.statistics);
  }
}

RuntimeCore::~RuntimeCore() = default;

std::shared_ptr<const TierPolicy> RuntimeCore::policy() const {
  std::lock_guard lock(policy_mutex_);
  return policy_;
}

void RuntimeCore::set_policy(std::shared_ptr<const TierPolicy> policy) {
  if (!policy) throw_error(ErrorCode::invalid_argument, "Runtime::set_policy: the policy is null");
  std::lock_guard lock(policy_mutex_);
  policy_ = std::move(policy);
}

void RuntimeCore::require_online(const char* operation) const {
  if (offline_) {
    throw_error(ErrorCode::unsupported,
                fmt::format("{}: this runtime is offline (it runs on an assumed platform profile without a GPU): it "
                            "resolves placements and keeps budgets, but cannot allocate or touch memory",
                            operation));
  }
}

Buffer RuntimeCore::allocate_placed(const Placement& placement, std::size_t bytes, const std::string& tag,
                                    cudaStream_t stream) {
  Tier& t = tier(placement.mode);
  if (!t.available) {
    require_online("allocate");
    throw_error(ErrorCode::unsupported,
                fmt::format("allocate: this runtime has no {} resource", to_string(placement.mode)));
  }
  void* p = stream != nullptr ? t.tracker->allocate_async(bytes, default_alignment, stream, tag)
                              : t.tracker->allocate(bytes, default_alignment, tag);
  Buffer buffer(shared_from_this(), p, bytes, placement, tag, stream);  // owns p from here on
  {
    std::lock_guard lock(placements_mutex_);
    placements_[reinterpret_cast<std::uintptr_t>(p)] = placement;
  }
  const bool advised = placement.preferred_location != Location::none || placement.accessed_by.any() ||
                       placement.read_mostly || placement.prefetch_to_gpu_now;
  if (advised) {
    ScopedDevice on_device(device_);
    if (placement.read_mostly) apply_advice(p, bytes, Advice::set_read_mostly, Location::none, device_);
    if (placement.preferred_location != Location::none) {
      apply_advice(p, bytes, Advice::set_preferred_location, placement.preferred_location, device_);
    }
    if (placement.accessed_by.gpu) apply_advice(p, bytes, Advice::set_accessed_by, Location::device, device_);
    if (placement.accessed_by.cpu) apply_advice(p, bytes, Advice::set_accessed_by, Location::host, device_);
    if (placement.prefetch_to_gpu_now) {
      NvtxRange range("ghtier::prefetch", bytes);
      prefetch_range(p, bytes, Location::device, device_, stream);
    }
  }
  return buffer;
}

void RuntimeCore::release(void* p, std::size_t bytes, MemoryMode mode, cudaStream_t stream) noexcept {
  if (p == nullptr) return;
  try {
    std::lock_guard lock(placements_mutex_);
    placements_.erase(reinterpret_cast<std::uintptr_t>(p));
  } catch (...) {
    // erase does not allocate; a failing lock leaves a stale entry, which the next allocation overwrites.
  }
  const std::size_t i = static_cast<std::size_t>(mode);
  if (i >= tiers_.size()) {
    log_nothrow(LogLevel::error, "Buffer free: memory mode {} is not valid; {} leaked", static_cast<int>(mode), p);
    return;
  }
  TrackingAdaptor& tracker = *tiers_[i].tracker;
  if (stream != nullptr) {
    tracker.deallocate_async(p, bytes, default_alignment, stream);
  } else {
    tracker.deallocate(p, bytes, default_alignment);
  }
}

std::uint64_t RuntimeCore::add_transfer_waiter(std::function<void()> wait) {
  std::lock_guard lock(waiters_mutex_);
  const std::uint64_t id = next_waiter_++;
  transfer_waiters_.emplace(id, std::move(wait));
  return id;
}

void RuntimeCore::remove_transfer_waiter(std::uint64_t id) noexcept {
  try {
    std::lock_guard lock(waiters_mutex_);
    transfer_waiters_.erase(id);
  } catch (...) {
    log_nothrow(LogLevel::error, "Runtime: could not unregister transfer waiter {}", id);
  }
}

void RuntimeCore::quiesce() const {
  {
    std::lock_guard lock(waiters_mutex_);
    for (const auto& [id, wait] : transfer_waiters_) wait();
  }
  if (offline_) return;
  // A runtime over the caller's resources can live where no GPU is (tests, CPU-only hosts): no GPU, no GPU
  // work to wait for.
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    return;
  }
  ScopedDevice selection(device_);
  GHTIER_CUDA_CHECK(cudaDeviceSynchronize());
}

std::optional<AllocationRecord> RuntimeCore::find(const void* p) const {
  for (const Tier& t : tiers_) {
    if (auto record = t.tracker->find(p)) return record;
  }
  return std::nullopt;
}

std::optional<Placement> RuntimeCore::placement_of(const void* p) const {
  const auto record = find(p);
  if (!record) return std::nullopt;
  std::lock_guard lock(placements_mutex_);
  const auto it = placements_.find(reinterpret_cast<std::uintptr_t>(record->base));
  if (it == placements_.end()) return std::nullopt;
  return it->second;
}

AllocationRecord RuntimeCore::checked_range(const void* p, std::size_t bytes, const char* operation) const {
  require_online(operation);
  if (p == nullptr) throw_error(ErrorCode::invalid_argument, fmt::format("{}: the pointer is null", operation));
  if (bytes == 0) throw_error(ErrorCode::invalid_argument, fmt::format("{}: bytes is 0", operation));
  auto record = find(p);
  if (!record) {
    throw_error(ErrorCode::not_found,
                fmt::format("{}: {} is not inside a live allocation of this runtime (foreign, or already freed)",
                            operation, p));
  }
  const auto base = reinterpret_cast<std::uintptr_t>(record->base);
  const auto begin = reinterpret_cast<std::uintptr_t>(p);
  const std::size_t offset = begin - base;
  if (bytes > record->bytes - offset) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: the range of {} bytes at {} runs past the end of its allocation ({} bytes at {}, "
                            "offset {})",
                            operation, bytes, p, record->bytes, record->base, offset));
  }
  return *record;
}

void RuntimeCore::require_movable(MemoryMode mode, const char* operation) const {
  if (relocation_for(platform_, mode) == Relocation::prefetch) return;
  throw_error(ErrorCode::unsupported,
              fmt::format("{}: the driver cannot move or advise {} memory on this {} platform (only managed memory, "
                          "and system memory where the GPU has pageable access): use Runtime::relocate_to to copy it "
                          "into another mode",
                          operation, to_string(mode), to_string(platform_.platform_class)));
}

}  // namespace ghtier::detail
