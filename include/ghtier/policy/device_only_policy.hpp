// DeviceOnlyPolicy: every request in HBM, as if there were no tiering (the baseline to compare against).
#pragma once

#include "ghtier/export.h"

#include "ghtier/policy/tier_policy.hpp"

namespace ghtier {

/// Always device_tier(). Ignores accessor and budget: past the device budget the allocation fails with
/// Error(out_of_budget); a CPU accessor reaches the data only through copies.
class GHTIER_API DeviceOnlyPolicy final : public TierPolicy {
 private:
  Placement do_resolve(const PlacementRequest& request, const Platform& platform,
                       const BudgetView& budget) const override;
  [[nodiscard]] std::string_view do_name() const noexcept override { return "device_only"; }
};

}  // namespace ghtier
