// Names of the residency enums.
#include "ghtier/residency.hpp"

namespace ghtier {

std::string_view to_string(ResidencyKind kind) noexcept {
  switch (kind) {
    case ResidencyKind::device: return "device";
    case ResidencyKind::host: return "host";
    case ResidencyKind::mixed: return "mixed";
    case ResidencyKind::not_populated: return "not_populated";
    case ResidencyKind::unknown: return "unknown";
  }
  return "unknown";
}

std::string_view to_string(ResidencySource source) noexcept {
  switch (source) {
    case ResidencySource::allocation_mode: return "allocation_mode";
    case ResidencySource::page_query: return "page_query";
    case ResidencySource::last_prefetch_location: return "last_prefetch_location";
    case ResidencySource::preferred_location: return "preferred_location";
    case ResidencySource::none: return "none";
  }
  return "unknown";
}

}  // namespace ghtier
