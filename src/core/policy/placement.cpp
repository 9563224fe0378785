// Placement comparison and its compact description (used in logs, `ghtier info` and docs/tier_policy.md).
#include "ghtier/policy/placement.hpp"

namespace ghtier {

bool Placement::same_decision(const Placement& other) const noexcept {
  return mode == other.mode && preferred_location == other.preferred_location && accessed_by == other.accessed_by &&
         read_mostly == other.read_mostly && prefetch_to_gpu_now == other.prefetch_to_gpu_now;
}

std::string describe(const Placement& placement) {
  std::string text(to_string(placement.mode));
  if (placement.preferred_location != Location::none) {
    text += ", prefer ";
    text += to_string(placement.preferred_location);
  }
  if (placement.accessed_by.any()) {
    text += ", accessed by ";
    text += placement.accessed_by.gpu && placement.accessed_by.cpu ? "gpu+cpu"
            : placement.accessed_by.gpu                            ? "gpu"
                                                                   : "cpu";
  }
  if (placement.read_mostly) text += ", read-mostly";
  if (placement.prefetch_to_gpu_now) text += ", prefetch to gpu";
  return text;
}

}  // namespace ghtier
