// TransferRoute: which mechanism and which lane of the engine move a request, from the memory modes of its
// two sides and the platform. The platform layer's choose_move decides staging vs direct (ATS goes direct);
// this adds the lane (copy streams of one direction). Pure, so every profile is tested without its hardware.
#pragma once

#include <string_view>

#include "engine/staging_ring.hpp"
#include "ghtier/engine/transfer_request.hpp"
#include "ghtier/memory/memory_mode.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier::detail {

/// The engine's lanes: each has its own copy streams (urgent and background) and dispatcher. The H100 has
/// separate copy engines per direction, so offloads (to_host) and prefetches (to_device) run at once.
enum class LaneId { to_device = 0, to_host = 1, local = 2 };
inline constexpr int lane_count = 3;

[[nodiscard]] std::string_view to_string(LaneId lane) noexcept;

struct TransferRoute {
  MoveMechanism mechanism = MoveMechanism::copy_engine;
  LaneId lane = LaneId::local;
  /// For staged copies: which way the data crosses the staging ring.
  StagingDirection staging = StagingDirection::to_device;

  friend bool operator==(const TransferRoute&, const TransferRoute&) = default;
};

/// Device and managed memory count as the GPU's side of the link; pinned and system memory as the CPU's.
[[nodiscard]] bool on_device_side(MemoryMode mode) noexcept;

/// The route of a copy from a `src` buffer to a `dst` buffer on `platform`.
[[nodiscard]] TransferRoute route_copy(const Platform& platform, MemoryMode src, MemoryMode dst) noexcept;

/// The lane of a prefetch of memory of `mode` towards `target`. Throws Error(unsupported) for device or
/// pinned memory (their pages cannot move: copy them instead) and where the platform cannot migrate that
/// memory (managed memory without concurrent managed access; system memory without ATS/HMM).
[[nodiscard]] LaneId route_prefetch(const Platform& platform, MemoryMode mode, PrefetchTarget target);

}  // namespace ghtier::detail
