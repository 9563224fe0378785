// BuiltinPolicy: the built-in policies by name or enum (what the C API and the command line select with).
#pragma once

#include "ghtier/export.h"

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "ghtier/policy/device_only_policy.hpp"
#include "ghtier/policy/host_cache_policy.hpp"
#include "ghtier/policy/size_threshold_policy.hpp"
#include "ghtier/policy/spill_policy.hpp"
#include "ghtier/policy/tier_policy.hpp"
#include "ghtier/policy/unified_policy.hpp"

namespace ghtier {

enum class BuiltinPolicy { device_only, spill, size_threshold, host_cache, unified };
inline constexpr std::array<BuiltinPolicy, 5> all_builtin_policies{BuiltinPolicy::device_only, BuiltinPolicy::spill,
                                                                   BuiltinPolicy::size_threshold,
                                                                   BuiltinPolicy::host_cache, BuiltinPolicy::unified};

/// "device_only", "spill", "size_threshold", "host_cache", "unified".
[[nodiscard]] GHTIER_API std::string_view to_string(BuiltinPolicy policy) noexcept;
[[nodiscard]] GHTIER_API std::optional<BuiltinPolicy> parse_builtin_policy(std::string_view text) noexcept;

/// A new instance of a built-in policy; size_threshold_bytes is used by size_threshold only. Throws
/// Error(invalid_argument) for a value outside the enum or a zero threshold.
[[nodiscard]] GHTIER_API std::shared_ptr<const TierPolicy> make_builtin_policy(
    BuiltinPolicy policy, std::size_t size_threshold_bytes = default_size_threshold);

}  // namespace ghtier
