// Route choice: mechanism from choose_move, lane from which side of the link each buffer is on.
#include "engine/transfer_route.hpp"

#include <fmt/format.h>

#include "core/support/enum_names.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

constexpr detail::EnumName<LaneId> lane_id_names[] = {
    {LaneId::to_device, "to_device"},
    {LaneId::to_host, "to_host"},
    {LaneId::local, "local"},
};
static_assert(detail::enum_names_complete(lane_id_names, LaneId::to_device, LaneId::local));

std::string_view to_string(LaneId lane) noexcept { return detail::enum_to_string(lane_id_names, lane); }

bool on_device_side(MemoryMode mode) noexcept { return mode == MemoryMode::device || mode == MemoryMode::managed; }

TransferRoute route_copy(const Platform& platform, MemoryMode src, MemoryMode dst) noexcept {
  TransferRoute route;
  route.mechanism = choose_move(platform, src, dst);
  const bool src_device = on_device_side(src);
  const bool dst_device = on_device_side(dst);
  if (!src_device && dst_device) {
    route.lane = LaneId::to_device;
  } else if (src_device && !dst_device) {
    route.lane = LaneId::to_host;
  } else {
    route.lane = LaneId::local;
  }
  route.staging = route.lane == LaneId::to_host ? StagingDirection::to_host : StagingDirection::to_device;
  return route;
}

LaneId route_prefetch(const Platform& platform, MemoryMode mode, PrefetchTarget target) {
  switch (mode) {
    case MemoryMode::device:
    case MemoryMode::pinned_host:
      // The argument is valid; this mode just cannot migrate: unsupported, as in Runtime::prefetch.
      throw_error(ErrorCode::unsupported,
                  fmt::format("PrefetchRequest: ptr is {} memory, whose pages cannot migrate; prefetch applies to "
                              "managed or system memory (copy this buffer with a CopyRequest instead)",
                              to_string(mode)));
    case MemoryMode::managed:
    case MemoryMode::system:
      if (relocation_for(platform, mode) != Relocation::prefetch) {
        throw_error(ErrorCode::unsupported,
                    fmt::format("PrefetchRequest: {} memory cannot be prefetched on this platform ({}, host access "
                                "{}): {}",
                                to_string(mode), to_string(platform.platform_class), to_string(platform.host_access),
                                mode == MemoryMode::system ? "the GPU has no pageable memory access (no ATS/HMM)"
                                                           : "managed memory does not migrate on this device"));
      }
      break;
  }
  return target == PrefetchTarget::device ? LaneId::to_device : LaneId::to_host;
}

}  // namespace ghtier::detail
