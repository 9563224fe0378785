// SizeThresholdPolicy: large buffers to the host tier, small ones stay near the GPU (Megatron's
// --cpu-offload-size-threshold idea: offloading small tensors costs more in overhead than it saves).
#pragma once

#include "ghtier/export.h"

#include <cstddef>
#include <string>

#include "ghtier/policy/tier_policy.hpp"

namespace ghtier {

/// Megatron-LM's default --cpu-offload-size-threshold: 64 MiB.
inline constexpr std::size_t default_size_threshold = std::size_t{64} << 20;

/// bytes >= threshold: host_tier(). Below it: device_tier() for GPU-only data, shared_tier() for data both
/// processors touch. CPU-only data: cpu_tier(). The budget is not consulted (past it the allocation fails
/// with Error(out_of_budget); use SpillPolicy or a user policy to combine both).
class GHTIER_API SizeThresholdPolicy final : public TierPolicy {
 public:
  /// Throws Error(invalid_argument) for a zero threshold (that is HostCachePolicy).
  explicit SizeThresholdPolicy(std::size_t threshold_bytes = default_size_threshold);
  [[nodiscard]] std::size_t threshold_bytes() const noexcept { return threshold_; }

 private:
  Placement do_resolve(const PlacementRequest& request, const Platform& platform,
                       const BudgetView& budget) const override;
  [[nodiscard]] std::string_view do_name() const noexcept override { return "size_threshold"; }

  std::size_t threshold_;
};

}  // namespace ghtier
