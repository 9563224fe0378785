// HostCachePolicy: CPU memory the GPU reads in place.
#include "ghtier/policy/host_cache_policy.hpp"

#include "ghtier/policy/tier_placements.hpp"

namespace ghtier {

Placement HostCachePolicy::do_resolve(const PlacementRequest& request, const Platform& platform,
                                      const BudgetView&) const {
  Placement p = request.accessor == Accessor::cpu ? cpu_tier(platform) : host_tier(platform);
  p.reason = "host_cache: " + p.reason;
  return p;
}

}  // namespace ghtier
