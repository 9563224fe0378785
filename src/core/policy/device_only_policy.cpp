// DeviceOnlyPolicy: always HBM.
#include "ghtier/policy/device_only_policy.hpp"

#include "ghtier/policy/tier_placements.hpp"

namespace ghtier {

Placement DeviceOnlyPolicy::do_resolve(const PlacementRequest& request, const Platform& platform,
                                       const BudgetView&) const {
  Placement p = device_tier(platform);
  p.reason = request.accessor == Accessor::gpu ? "device_only: HBM"
                                               : "device_only: HBM (the CPU reaches it only through copies)";
  return p;
}

}  // namespace ghtier
