// Runtime: one per GPU. Owns the platform, one resource stack per allocation mode (budget, statistics and
// tracking over each), the tier policy; hands out Buffers placed by the policy, and offers the
// pointer-stable operations (prefetch, advise, residency) and the pointer-changing move (relocate_to).
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ghtier/memory/allocation_record.hpp"
#include "ghtier/memory/budget_view.hpp"
#include "ghtier/memory/device_pool_resource.hpp"
#include "ghtier/memory/location.hpp"
#include "ghtier/memory/memory_advice.hpp"
#include "ghtier/memory/memory_resource.hpp"
#include "ghtier/memory/pinned_host_resource.hpp"
#include "ghtier/memory/statistics_adaptor.hpp"
#include "ghtier/memory/system_resource.hpp"
#include "ghtier/platform/link_model_cache.hpp"
#include "ghtier/platform/platform.hpp"
#include "ghtier/policy/placement_request.hpp"
#include "ghtier/policy/tier_policy.hpp"
#include "ghtier/runtime/buffer.hpp"
#include "ghtier/runtime/residency.hpp"

namespace ghtier {

namespace detail {
class RuntimeCore;
}

struct GHTIER_API RuntimeOptions {
  /// The GPU this runtime serves.
  int device = 0;
  /// Non-empty: an *offline* runtime on a built-in profile ("gh200-c2c", "pcie-gen5-hmm", "pcie-gen5"; the
  /// deprecated aliases "gh200", "x86-h100-hmm", "x86-h100-pcie" still work) that touches no GPU (it works without
  /// one): resolve(), budgets and statistics work, while allocate, prefetch, advise, residency and relocate
  /// throw_error(unsupported). For trying policies, in tests and through the C API.
  std::string assumed_profile;
  /// The link model of a real device (ignored offline): by default (environment) GHTIER_LINK_MODEL decides,
  /// and unset means the device's cached calibration when `ghtier info` or `ghtier bench` has measured one,
  /// else its class's profile. The runtime only reads the cache file; it never calibrates.
  LinkModelChoice link_model = LinkModelChoice::environment;
  /// The tier policy; null = SpillPolicy.
  std::shared_ptr<const TierPolicy> policy;
  /// Byte budgets per tier (unlimited_bytes = none). A tier past its budget refuses with out_of_budget.
  std::size_t device_budget = unlimited_bytes;
  std::size_t pinned_host_budget = unlimited_bytes;
  std::size_t managed_budget = unlimited_bytes;
  std::size_t system_budget = unlimited_bytes;
  /// A host budget shared by every process of this node (one process per GPU): "NAME:BYTES", e.g. "train:512G"
  /// (K, M, G, T suffixes, binary). The pinned_host and system tiers of every runtime that names the same NAME
  /// count together against BYTES, in a small shared-memory segment (/dev/shm/ghtier-node-budget.NAME); the
  /// bytes of a process that dies are reclaimed. Empty: GHTIER_NODE_BUDGET from the environment, if set; "off":
  /// none. An extra limit on top of the per-tier budgets; not for an offline runtime. docs/multi_gpu.md.
  std::string node_budget;
  /// Options of the resources the runtime creates (their `device` fields are replaced by `device`).
  DevicePoolOptions device_pool;
  PinnedHostOptions pinned_host;
  SystemOptions system;
};

/// Upstream resources a caller provides instead of the ones the runtime would create (tests, embedding
/// ghtier in a program with its own allocators). Each must hand out memory of its member's mode; a null
/// one makes that mode unavailable (allocations in it throw_error(unsupported)).
struct GHTIER_API RuntimeResources {
  std::shared_ptr<MemoryResource> device;
  std::shared_ptr<MemoryResource> pinned_host;
  std::shared_ptr<MemoryResource> managed;
  std::shared_ptr<MemoryResource> system;
};

/// Thread-safe: every member may be called from many threads at once. Buffers keep what they need of the
/// runtime alive, so a Buffer may outlive its Runtime (its memory is freed when the Buffer goes); so do
/// transfer engines made over it, so the Runtime may be destroyed while an engine still copies. A Buffer
/// allocated with a stream is freed stream-ordered on it: the stream must outlive the Buffer, or call
/// buffer.set_stream(nullptr) (a synchronous free) before destroying the stream.
class GHTIER_API Runtime final : public AllocationLookup {
 public:
  /// A runtime on options.device with ghtier's own resources (or an offline one, see assumed_profile).
  /// Throws Error: no_device (no GPU visible: the message says so), invalid_argument (a device that does
  /// not exist), not_found (an unknown profile name), cuda_error.
  explicit Runtime(const RuntimeOptions& options = {});
  /// A runtime over the caller's resources on a given platform (options.device is the GPU that prefetch
  /// and advise name; assumed_profile and the resource options are ignored). Touches no GPU itself.
  /// Throws Error(invalid_argument) when a resource's mode() differs from its member's.
  Runtime(Platform platform, RuntimeResources resources, const RuntimeOptions& options = {});
  ~Runtime() override;
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  [[nodiscard]] const Platform& platform() const noexcept;
  [[nodiscard]] int device() const noexcept;
  /// True for a runtime made from an assumed profile.
  [[nodiscard]] bool offline() const noexcept;
  /// Whether allocations in `mode` are possible (the mode has a resource).
  [[nodiscard]] bool has_mode(MemoryMode mode) const noexcept;

  /// Replaces the policy for later allocations. Throws Error(invalid_argument) for null.
  void set_policy(std::shared_ptr<const TierPolicy> policy);
  [[nodiscard]] std::shared_ptr<const TierPolicy> policy() const;
  /// What allocate(request) would choose now, without allocating. Throws as TierPolicy::resolve.
  [[nodiscard]] Placement resolve(const PlacementRequest& request) const;

  /// Allocates as the policy decides, applies the placement's advice and prefetch. When the device
  /// refuses (out_of_budget, or out_of_memory) the request is resolved again with no device room: a spill
  /// policy then lands in the host tier. With a stream, allocation, prefetch and the eventual free are
  /// stream-ordered on it. NVTX range "ghtier::allocate". Throws Error: invalid_argument (bad request),
  /// out_of_budget, out_of_memory, unsupported (offline, or no resource for the mode), cuda_error.
  [[nodiscard]] Buffer allocate(const PlacementRequest& request, cudaStream_t stream = nullptr);
  /// Allocates `bytes` in `mode` directly, bypassing the policy (no advice). Throws as allocate().
  [[nodiscard]] Buffer allocate_in(MemoryMode mode, std::size_t bytes, cudaStream_t stream = nullptr,
                                   const std::string& tag = {});

  /// Sets a tier's budget (unlimited_bytes = none). Lowering it below the usage frees nothing.
  void set_budget(MemoryMode mode, std::size_t bytes);
  /// A tier's budget (unlimited_bytes = none) and the bytes it counts as used now.
  [[nodiscard]] std::size_t budget(MemoryMode mode) const;
  [[nodiscard]] std::size_t budget_used(MemoryMode mode) const;
  /// Every tier's free room under its budget, as policies see it.
  [[nodiscard]] BudgetView budget_view() const;

  /// A tier's counters (live, peak, totals, refusals). All zero for a mode without a resource.
  [[nodiscard]] AllocationStatistics statistics(MemoryMode mode) const;
  /// The tier's resource stack (budget, statistics, tracking over the mode's resource), for memory that
  /// others allocate on this runtime's account, e.g. a kernel's hash table or scratch: it counts in
  /// budget_used(), statistics() and live_allocations(). Valid while the runtime lives; a mode without a
  /// resource (or an offline runtime) refuses with Error(unsupported). Throws Error(invalid_argument) for a
  /// mode outside the enum.
  [[nodiscard]] MemoryResource& resource(MemoryMode mode);
  /// Sets every tier's peak to its current usage.
  void reset_peaks();

  /// The live allocation of this runtime that contains `p` (interior pointers too), or nullopt.
  [[nodiscard]] std::optional<AllocationRecord> find(const void* p) const override;
  /// Every live allocation, by mode then address.
  [[nodiscard]] std::vector<AllocationRecord> live_allocations() const;

  // --- Pointer-stable operations: managed memory, and system memory where the GPU has pageable access.

  /// Migrates [p, p + bytes) to `location` (device or host) on `stream` (cudaMemPrefetchAsync). The range
  /// must lie in one allocation of this runtime. NVTX range "ghtier::prefetch". Throws Error:
  /// invalid_argument (zero bytes, a range past the allocation, location none), not_found (not ours),
  /// unsupported (a mode whose pages cannot move here: use relocate_to), cuda_error.
  void prefetch(const void* p, std::size_t bytes, Location location, cudaStream_t stream = nullptr);
  void prefetch(const Buffer& buffer, Location location, cudaStream_t stream = nullptr);
  /// Applies one cudaMemAdvise to [p, p + bytes). `location` (device or host) is needed by the preferred
  /// location and accessed-by advice and ignored by the others. Throws as prefetch().
  void advise(const void* p, std::size_t bytes, Advice advice, Location location = Location::none);
  void advise(const Buffer& buffer, Advice advice, Location location = Location::none);

  /// Where the bytes of [p, p + bytes) are now. Device and pinned memory: from the mode (exact). System
  /// memory: the kernel's page table (move_pages), NUMA node included; on GH200 pages on the GPU's own NUMA
  /// node count as device. Managed memory: the driver's last prefetch location, else its preferred location
  /// (approximate; see Residency). Throws as prefetch() (not unsupported: every mode has an answer).
  [[nodiscard]] Residency residency(const void* p, std::size_t bytes) const;
  [[nodiscard]] Residency residency(const Buffer& buffer) const;

  // --- Pointer-changing move.

  /// Moves a buffer's bytes into a new allocation of `mode` (stream-ordered cudaMemcpyAsync on `stream`;
  /// nullptr: synchronous) and frees the old allocation after the copy (stream-ordered). The new buffer has
  /// a NEW pointer: everything that held the old one must be updated. Its stream is `stream`. If it throws
  /// (the new allocation refused, the copy not started), `buffer` keeps its allocation, bytes and ownership
  /// untouched, and any allocation made for the move is freed: the old pointer is released only once the
  /// copy has been queued. (An asynchronous copy that fails after being queued reports on `stream`, as any
  /// CUDA work does.) NVTX range "ghtier::relocate". Throws Error: invalid_argument (empty or foreign
  /// buffer), out_of_budget, out_of_memory, unsupported, cuda_error.
  [[nodiscard]] Buffer relocate_to(Buffer&& buffer, MemoryMode mode, cudaStream_t stream = nullptr);

  // --- Lifetime.

  /// Blocks until every TransferEngine made over this runtime (TransferEngine(const Runtime&)) has nothing
  /// queued or in flight, then until the device has finished its work (cudaDeviceSynchronize; not offline).
  /// Call it before freeing memory whose users you do not track: the C API's runtime destroy does, before it
  /// frees the allocations still live. Must not be called from an engine's on_complete callback while that
  /// engine has requests waiting on it. Throws Error(cuda_error).
  void quiesce() const;

  /// The state this runtime shares with its Buffers and engines (for ghtier's own layers: a transfer engine
  /// keeps it alive, so the runtime may be destroyed before the engine).
  [[nodiscard]] std::shared_ptr<detail::RuntimeCore> shared_core() const noexcept { return core_; }

  /// The placement (as applied at allocation) of the live allocation containing `p`, or nullopt.
  [[nodiscard]] std::optional<Placement> placement_of(const void* p) const;

 private:
  std::shared_ptr<detail::RuntimeCore> core_;
};

}  // namespace ghtier
