// UnifiedPolicy: pages migrate on demand; ghtier advises.
#include "ghtier/policy/unified_policy.hpp"

#include "ghtier/policy/tier_placements.hpp"

namespace ghtier {

Placement UnifiedPolicy::do_resolve(const PlacementRequest& request, const Platform& platform,
                                    const BudgetView&) const {
  Placement p = shared_tier(request, platform);
  p.reason = "unified: " + p.reason;
  return p;
}

}  // namespace ghtier
