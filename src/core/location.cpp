// Names of Location values.
#include "ghtier/location.hpp"

namespace ghtier {

std::string_view to_string(Location location) noexcept {
  switch (location) {
    case Location::none: return "none";
    case Location::device: return "device";
    case Location::host: return "host";
  }
  return "unknown";
}

std::optional<Location> parse_location(std::string_view text) noexcept {
  for (Location l : {Location::none, Location::device, Location::host}) {
    if (to_string(l) == text) return l;
  }
  return std::nullopt;
}

}  // namespace ghtier
