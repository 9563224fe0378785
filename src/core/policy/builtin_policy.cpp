// The built-in policies by name and enum.
#include "ghtier/policy/builtin_policy.hpp"

#include <fmt/format.h>

#include "core/support/enum_names.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

constexpr detail::EnumName<BuiltinPolicy> builtin_policy_names[] = {
    {BuiltinPolicy::device_only, "device_only"},
    {BuiltinPolicy::spill, "spill"},
    {BuiltinPolicy::size_threshold, "size_threshold"},
    {BuiltinPolicy::host_cache, "host_cache"},
    {BuiltinPolicy::unified, "unified"},
};
static_assert(detail::enum_names_complete(builtin_policy_names, BuiltinPolicy::device_only, BuiltinPolicy::unified));

std::string_view to_string(BuiltinPolicy policy) noexcept {
  return detail::enum_to_string(builtin_policy_names, policy);
}

std::optional<BuiltinPolicy> parse_builtin_policy(std::string_view text) noexcept {
  return detail::enum_parse(builtin_policy_names, text);
}

std::shared_ptr<const TierPolicy> make_builtin_policy(BuiltinPolicy policy, std::size_t size_threshold_bytes) {
  switch (policy) {
    case BuiltinPolicy::device_only: return std::make_shared<DeviceOnlyPolicy>();
    case BuiltinPolicy::spill: return std::make_shared<SpillPolicy>();
    case BuiltinPolicy::size_threshold: return std::make_shared<SizeThresholdPolicy>(size_threshold_bytes);
    case BuiltinPolicy::host_cache: return std::make_shared<HostCachePolicy>();
    case BuiltinPolicy::unified: return std::make_shared<UnifiedPolicy>();
  }
  throw_error(ErrorCode::invalid_argument,
              fmt::format("make_builtin_policy: policy {} is not one of device_only, spill, size_threshold, "
                          "host_cache, unified",
                          static_cast<int>(policy)));
}

}  // namespace ghtier
