// HostCachePolicy: CPU memory used as a cache the GPU reads in place (embedding tables, KV caches, weights
// streamed layer by layer), leaving HBM to the working set.
#pragma once

#include "ghtier/export.h"

#include "ghtier/policy/tier_policy.hpp"

namespace ghtier {

/// Data the GPU touches (alone or with the CPU): host_tier() (GH200: system memory, preferred host,
/// accessed by the GPU; PCIe: pinned host). CPU-only data: cpu_tier(). Never uses the device budget.
class GHTIER_API HostCachePolicy final : public TierPolicy {
 private:
  Placement do_resolve(const PlacementRequest& request, const Platform& platform,
                       const BudgetView& budget) const override;
  [[nodiscard]] std::string_view do_name() const noexcept override { return "host_cache"; }
};

}  // namespace ghtier
