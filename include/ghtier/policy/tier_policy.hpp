// TierPolicy: turns a PlacementRequest into a Placement for one platform and the budgets' current room.
// Built-in policies live in ghtier/policies/; a user policy is a subclass or a callable (make_policy).
#pragma once

#include "ghtier/export.h"

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ghtier/memory/budget_view.hpp"
#include "ghtier/platform/platform.hpp"
#include "ghtier/policy/placement.hpp"
#include "ghtier/policy/placement_request.hpp"

namespace ghtier {

/// A policy must be a pure function of its arguments (and its own immutable settings): resolve() is
/// called from many threads at once, and again with a smaller budget when an allocation is refused.
class GHTIER_API TierPolicy {
 public:
  virtual ~TierPolicy() = default;

  /// Validates the request, asks the policy, and checks its answer. Throws Error(invalid_argument) for a
  /// bad request (zero bytes, enum out of range) and for a placement that puts advice or a prefetch on a
  /// mode the driver cannot move on this platform (naming the policy, the mode and the platform class).
  /// An empty reason is replaced by the policy's name.
  [[nodiscard]] Placement resolve(const PlacementRequest& request, const Platform& platform,
                                  const BudgetView& budget) const;

  /// Short name, e.g. "spill" or a user policy's name.
  [[nodiscard]] std::string_view name() const noexcept { return do_name(); }

 private:
  virtual Placement do_resolve(const PlacementRequest& request, const Platform& platform,
                               const BudgetView& budget) const = 0;
  [[nodiscard]] virtual std::string_view do_name() const noexcept = 0;
};

/// The signature of a callable policy.
using PolicyFunction = std::function<Placement(const PlacementRequest&, const Platform&, const BudgetView&)>;

/// A policy from a callable (which must be thread-safe). Throws Error(invalid_argument) for an empty one.
[[nodiscard]] GHTIER_API std::shared_ptr<const TierPolicy> make_policy(PolicyFunction function,
                                                                       std::string name = "user");

}  // namespace ghtier
