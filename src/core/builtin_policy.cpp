// The built-in policies by name and enum.
#include "ghtier/builtin_policy.hpp"

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier {

std::string_view to_string(BuiltinPolicy policy) noexcept {
  switch (policy) {
    case BuiltinPolicy::device_only: return "device_only";
    case BuiltinPolicy::spill: return "spill";
    case BuiltinPolicy::size_threshold: return "size_threshold";
    case BuiltinPolicy::host_cache: return "host_cache";
    case BuiltinPolicy::unified: return "unified";
  }
  return "unknown";
}

std::optional<BuiltinPolicy> parse_builtin_policy(std::string_view text) noexcept {
  for (BuiltinPolicy p : all_builtin_policies) {
    if (to_string(p) == text) return p;
  }
  return std::nullopt;
}

std::shared_ptr<const TierPolicy> make_builtin_policy(BuiltinPolicy policy, std::size_t size_threshold_bytes) {
  switch (policy) {
    case BuiltinPolicy::device_only: return std::make_shared<DeviceOnlyPolicy>();
    case BuiltinPolicy::spill: return std::make_shared<SpillPolicy>();
    case BuiltinPolicy::size_threshold: return std::make_shared<SizeThresholdPolicy>(size_threshold_bytes);
    case BuiltinPolicy::host_cache: return std::make_shared<HostCachePolicy>();
    case BuiltinPolicy::unified: return std::make_shared<UnifiedPolicy>();
  }
  throw Error(ErrorCode::invalid_argument,
              fmt::format("make_builtin_policy: policy {} is not one of device_only, spill, size_threshold, "
                          "host_cache, unified",
                          static_cast<int>(policy)));
}

}  // namespace ghtier
