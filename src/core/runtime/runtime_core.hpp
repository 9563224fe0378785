// RuntimeCore: the state a Runtime shares with its Buffers (platform, the per-mode resource stacks, the
// policy, the placements of live allocations), so a Buffer can free itself even after its Runtime is gone.
#pragma once

#include <cuda_runtime_api.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "ghtier/memory/allocation_record.hpp"
#include "ghtier/memory/budget_adaptor.hpp"
#include "ghtier/memory/statistics_adaptor.hpp"
#include "ghtier/memory/tracking_adaptor.hpp"
#include "ghtier/platform/platform.hpp"
#include "ghtier/policy/placement.hpp"
#include "ghtier/policy/tier_policy.hpp"
#include "ghtier/runtime/buffer.hpp"

namespace ghtier::detail {

/// Index of a mode in per-mode arrays; throws Error(invalid_argument) naming `what` for a value outside the enum.
[[nodiscard]] std::size_t mode_index(MemoryMode mode, const char* what);

class RuntimeCore final : public AllocationLookup, public std::enable_shared_from_this<RuntimeCore> {
 public:
  /// One mode's stack: upstream <- budget <- statistics <- tracker (the runtime allocates from the tracker).
  struct Tier {
    std::shared_ptr<MemoryResource> upstream;
    bool available = false;  ///< false: the upstream is an UnavailableResource
    std::unique_ptr<BudgetAdaptor> budget;
    std::unique_ptr<StatisticsAdaptor> statistics;
    std::unique_ptr<TrackingAdaptor> tracker;
  };

  /// `upstreams` by mode index; a null one becomes an UnavailableResource that says `why_unavailable`.
  RuntimeCore(Platform platform, int device, bool offline, std::array<std::shared_ptr<MemoryResource>, 4> upstreams,
              const std::array<std::size_t, 4>& budgets, std::shared_ptr<const TierPolicy> policy,
              const std::string& why_unavailable);
  ~RuntimeCore() override;
  RuntimeCore(const RuntimeCore&) = delete;
  RuntimeCore& operator=(const RuntimeCore&) = delete;

  [[nodiscard]] const Platform& platform() const noexcept { return platform_; }
  [[nodiscard]] int device() const noexcept { return device_; }
  [[nodiscard]] bool offline() const noexcept { return offline_; }
  [[nodiscard]] Tier& tier(MemoryMode mode) { return tiers_[mode_index(mode, "memory mode")]; }
  [[nodiscard]] const Tier& tier(MemoryMode mode) const { return tiers_[mode_index(mode, "memory mode")]; }

  [[nodiscard]] std::shared_ptr<const TierPolicy> policy() const;
  void set_policy(std::shared_ptr<const TierPolicy> policy);

  /// Allocates in placement.mode, records the placement, applies its advice and prefetch. Throws Error.
  [[nodiscard]] Buffer allocate_placed(const Placement& placement, std::size_t bytes, const std::string& tag,
                                       cudaStream_t stream);
  /// Frees a Buffer's memory (stream-ordered on `stream` when not null). Never throws.
  void release(void* p, std::size_t bytes, MemoryMode mode, cudaStream_t stream) noexcept;

  [[nodiscard]] std::optional<AllocationRecord> find(const void* p) const override;
  [[nodiscard]] std::optional<Placement> placement_of(const void* p) const;

  /// The allocation holding all of [p, p + bytes), for an operation named `operation`. Throws Error:
  /// unsupported (offline), invalid_argument (null p, zero bytes, a range past the allocation's end),
  /// not_found (not an allocation of this runtime).
  [[nodiscard]] AllocationRecord checked_range(const void* p, std::size_t bytes, const char* operation) const;
  /// Registers `wait`, which blocks until its owner (a transfer engine) has nothing queued or in flight, so
  /// that memory this runtime frees on its own is never under a copy. Returns an id for remove_transfer_waiter.
  [[nodiscard]] std::uint64_t add_transfer_waiter(std::function<void()> wait);
  /// Unregisters a waiter; blocks while a quiesce() is calling it (so its owner may go right after).
  void remove_transfer_waiter(std::uint64_t id) noexcept;
  /// Calls every registered waiter, then waits for the device (cudaDeviceSynchronize; skipped offline).
  /// Throws Error(cuda_error).
  void quiesce() const;

  /// Throws Error(unsupported) unless the driver can move pages of `mode` on this platform.
  void require_movable(MemoryMode mode, const char* operation) const;
  /// Throws Error(unsupported) for an offline runtime.
  void require_online(const char* operation) const;

 private:
  Platform platform_;
  int device_;
  bool offline_;
  std::array<Tier, 4> tiers_;
  mutable std::mutex policy_mutex_;
  std::shared_ptr<const TierPolicy> policy_;
  mutable std::mutex placements_mutex_;
  std::map<std::uintptr_t, Placement> placements_;  // by base address, for every live allocation
  mutable std::mutex waiters_mutex_;                // held while waiters run: a waiter is never removed mid-call
  std::map<std::uint64_t, std::function<void()>> transfer_waiters_;
  std::uint64_t next_waiter_ = 1;
};

}  // namespace ghtier::detail
