// Advice: the cudaMemAdvise hints ghtier passes on for managed memory and, on ATS/HMM platforms, system
// memory. A named enum so the C++ and C APIs need no CUDA types.
#pragma once

#include "ghtier/export.h"

#include <optional>
#include <string_view>

namespace ghtier {

enum class Advice {
  set_read_mostly,  ///< readers get their own read-only copy; a write collapses the copies
  unset_read_mostly,
  set_preferred_location,  ///< pages prefer a location (device or host); faults migrate them there
  unset_preferred_location,
  set_accessed_by,  ///< a processor (device or host) keeps a mapping: it reads in place, no fault
  unset_accessed_by,
};

/// "set_read_mostly", ...; "unknown" for a value outside the enum.
[[nodiscard]] GHTIER_API std::string_view to_string(Advice advice) noexcept;
[[nodiscard]] GHTIER_API std::optional<Advice> parse_advice(std::string_view text) noexcept;
/// True for the advice that needs a location (preferred location, accessed-by); the others ignore it.
[[nodiscard]] GHTIER_API bool advice_takes_location(Advice advice) noexcept;

}  // namespace ghtier
