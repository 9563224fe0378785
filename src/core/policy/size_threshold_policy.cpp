// SizeThresholdPolicy: at or above the threshold to the host tier.
#include "ghtier/policy/size_threshold_policy.hpp"

#include <fmt/format.h>

#include "ghtier/error.hpp"
#include "ghtier/policy/tier_placements.hpp"

namespace ghtier {

SizeThresholdPolicy::SizeThresholdPolicy(std::size_t threshold_bytes) : threshold_(threshold_bytes) {
  if (threshold_bytes == 0) {
    throw_error(
        ErrorCode::invalid_argument,
        "SizeThresholdPolicy: threshold_bytes is 0, which sends everything to the host tier (use HostCachePolicy)");
  }
}

Placement SizeThresholdPolicy::do_resolve(const PlacementRequest& request, const Platform& platform,
                                          const BudgetView&) const {
  Placement p;
  if (request.accessor == Accessor::cpu) {
    p = cpu_tier(platform);
    p.reason = "size_threshold: " + p.reason;
  } else if (request.bytes >= threshold_) {
    p = host_tier(platform);
    p.reason = fmt::format("size_threshold: at or above {} bytes: {}", threshold_, p.reason);
  } else if (request.accessor == Accessor::gpu) {
    p = device_tier(platform);
    p.reason = fmt::format("size_threshold: below {} bytes: {}", threshold_, p.reason);
  } else {
    p = shared_tier(request, platform);
    p.reason = fmt::format("size_threshold: below {} bytes, both processors touch it: {}", threshold_, p.reason);
  }
  return p;
}

}  // namespace ghtier
