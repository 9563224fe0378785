// Prints the per-platform resolution table of the built-in policies as Markdown, for docs/tier_policy.md.
#pragma once

#include <string>

namespace ghtier::test {

/// One Markdown table per built-in policy: rows are request kinds (accessor, size/budget, frequency) with
/// identical answers merged, columns the three platform profiles.
[[nodiscard]] std::string policy_resolution_table();

}  // namespace ghtier::test
