// Names of Location values.
#include "ghtier/memory/location.hpp"

#include "core/support/enum_names.hpp"

namespace ghtier {

constexpr detail::EnumName<Location> location_names[] = {
    {Location::none, "none"},
    {Location::device, "device"},
    {Location::host, "host"},
};
static_assert(detail::enum_names_complete(location_names, Location::none, Location::host));

std::string_view to_string(Location location) noexcept { return detail::enum_to_string(location_names, location); }

std::optional<Location> parse_location(std::string_view text) noexcept {
  return detail::enum_parse(location_names, text);
}

}  // namespace ghtier
