// Location: which processor's memory a range prefers, is prefetched to, or lives in. Shared by placements,
// prefetch, advice and residency so that one word means the same thing everywhere.
#pragma once

#include "ghtier/export.h"

#include <optional>
#include <string_view>

namespace ghtier {

enum class Location {
  none,    ///< no location: for a preferred location, "let pages follow whoever touches them"
  device,  ///< the runtime's GPU (its HBM)
  host,    ///< CPU memory (on GH200 the LPDDR5X; the GPU's host NUMA node where one can be named)
};

/// "none", "device", "host"; "unknown" for a value outside the enum.
[[nodiscard]] GHTIER_API std::string_view to_string(Location location) noexcept;
/// The inverse of to_string; nullopt for anything else.
[[nodiscard]] GHTIER_API std::optional<Location> parse_location(std::string_view text) noexcept;

}  // namespace ghtier
