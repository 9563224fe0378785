// SpillPolicy: GPU data in HBM until the device budget is spent, then in the best host tier.
#pragma once

#include "ghtier/export.h"

#include "ghtier/policy/tier_policy.hpp"

namespace ghtier {

/// GPU-only data: device_tier() while bytes <= budget.device_free, else host_tier() (GH200: system memory,
/// preferred host, accessed by the GPU; PCIe: pinned host). Data both processors touch: shared_tier().
/// CPU-only data: cpu_tier(). The Runtime re-resolves with no device room left when the device refuses an
/// allocation that the view said would fit (another thread took the room), so a spill never fails on a race.
class GHTIER_API SpillPolicy final : public TierPolicy {
 private:
  Placement do_resolve(const PlacementRequest& request, const Platform& platform,
                       const BudgetView& budget) const override;
  [[nodiscard]] std::string_view do_name() const noexcept override { return "spill"; }
};

}  // namespace ghtier
