// SpillPolicy: HBM within the device budget, the host tier past it.
#include "ghtier/policy/spill_policy.hpp"

#include "ghtier/policy/tier_placements.hpp"

namespace ghtier {

Placement SpillPolicy::do_resolve(const PlacementRequest& request, const Platform& platform,
                                  const BudgetView& budget) const {
  Placement p;
  switch (request.accessor) {
    case Accessor::cpu:
      p = cpu_tier(platform);
      p.reason = "spill: " + p.reason;
      return p;
    case Accessor::both:
      p = shared_tier(request, platform);
      p.reason = "spill: both processors touch it: " + p.reason;
      return p;
    case Accessor::gpu: break;
  }
  if (request.bytes <= budget.device_free) {
    p = device_tier(platform);
    p.reason = "spill: within the device budget: " + p.reason;
  } else {
    p = host_tier(platform);
    p.reason = "spill: past the device budget: " + p.reason;
  }
  return p;
}

}  // namespace ghtier
