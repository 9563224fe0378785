// Names of the Advice values.
#include "ghtier/memory_advice.hpp"

#include <array>

namespace ghtier {

namespace {
constexpr std::array<Advice, 6> all_advice{Advice::set_read_mostly,        Advice::unset_read_mostly,
                                           Advice::set_preferred_location, Advice::unset_preferred_location,
                                           Advice::set_accessed_by,        Advice::unset_accessed_by};
}

std::string_view to_string(Advice advice) noexcept {
  switch (advice) {
    case Advice::set_read_mostly: return "set_read_mostly";
    case Advice::unset_read_mostly: return "unset_read_mostly";
    case Advice::set_preferred_location: return "set_preferred_location";
    case Advice::unset_preferred_location: return "unset_preferred_location";
    case Advice::set_accessed_by: return "set_accessed_by";
    case Advice::unset_accessed_by: return "unset_accessed_by";
  }
  return "unknown";
}

std::optional<Advice> parse_advice(std::string_view text) noexcept {
  for (Advice a : all_advice) {
    if (to_string(a) == text) return a;
  }
  return std::nullopt;
}

bool advice_takes_location(Advice advice) noexcept {
  return advice == Advice::set_preferred_location || advice == Advice::set_accessed_by ||
         advice == Advice::unset_accessed_by;
}

}  // namespace ghtier
