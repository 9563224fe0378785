// UnifiedPolicy: everything in memory that migrates on demand (system memory on ATS, managed elsewhere),
// with advice from the request: the driver moves pages, ghtier only hints.
#pragma once

#include "ghtier/export.h"

#include "ghtier/policy/tier_policy.hpp"

namespace ghtier {

/// Always shared_tier(request): see its rules for the advice. Never uses the device budget (managed and
/// system pages in HBM are the driver's to evict).
class GHTIER_API UnifiedPolicy final : public TierPolicy {
 private:
  Placement do_resolve(const PlacementRequest& request, const Platform& platform,
                       const BudgetView& budget) const override;
  [[nodiscard]] std::string_view do_name() const noexcept override { return "unified"; }
};

}  // namespace ghtier
