// TierPolicy::resolve (request validation and the check of a policy's answer) and callable policies.
#include "ghtier/policy/tier_policy.hpp"

#include <utility>

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier {

namespace {
bool valid_mode(MemoryMode mode) noexcept { return to_string(mode) != "unknown"; }
bool valid_location(Location location) noexcept { return to_string(location) != "unknown"; }
}  // namespace

Placement TierPolicy::resolve(const PlacementRequest& request, const Platform& platform,
                              const BudgetView& budget) const {
  validate(request);
  Placement placement = do_resolve(request, platform, budget);
  if (!valid_mode(placement.mode)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("policy '{}' returned memory mode {}, which is not a MemoryMode", name(),
                            static_cast<int>(placement.mode)));
  }
  if (!valid_location(placement.preferred_location)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("policy '{}' returned preferred location {}, which is not a Location", name(),
                            static_cast<int>(placement.preferred_location)));
  }
  const bool advised = placement.preferred_location != Location::none || placement.accessed_by.any() ||
                       placement.read_mostly || placement.prefetch_to_gpu_now;
  if (advised && relocation_for(platform, placement.mode) != Relocation::prefetch) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("policy '{}' placed a {}-byte request in {} memory with advice or a prefetch ({}), but "
                            "on a {} platform the driver cannot move {} pages: leave the advice out",
                            name(), request.bytes, to_string(placement.mode), describe(placement),
                            to_string(platform.platform_class), to_string(placement.mode)));
  }
  if (placement.reason.empty()) placement.reason = std::string(name());
  return placement;
}

namespace {
class FunctionPolicy final : public TierPolicy {
 public:
  FunctionPolicy(PolicyFunction function, std::string name) : function_(std::move(function)), name_(std::move(name)) {}

 private:
  Placement do_resolve(const PlacementRequest& request, const Platform& platform,
                       const BudgetView& budget) const override {
    return function_(request, platform, budget);
  }
  [[nodiscard]] std::string_view do_name() const noexcept override { return name_; }

  PolicyFunction function_;
  std::string name_;
};
}  // namespace

std::shared_ptr<const TierPolicy> make_policy(PolicyFunction function, std::string name) {
  if (!function) throw_error(ErrorCode::invalid_argument, "make_policy: the policy function is empty");
  if (name.empty()) throw_error(ErrorCode::invalid_argument, "make_policy: the policy name is empty");
  return std::make_shared<FunctionPolicy>(std::move(function), std::move(name));
}

}  // namespace ghtier
