// Names of the Advice values.
#include "ghtier/memory/memory_advice.hpp"

#include "core/support/enum_names.hpp"

namespace ghtier {

constexpr detail::EnumName<Advice> advice_names[] = {
    {Advice::set_read_mostly, "set_read_mostly"},
    {Advice::unset_read_mostly, "unset_read_mostly"},
    {Advice::set_preferred_location, "set_preferred_location"},
    {Advice::unset_preferred_location, "unset_preferred_location"},
    {Advice::set_accessed_by, "set_accessed_by"},
    {Advice::unset_accessed_by, "unset_accessed_by"},
};
static_assert(detail::enum_names_complete(advice_names, Advice::set_read_mostly, Advice::unset_accessed_by));

std::string_view to_string(Advice advice) noexcept { return detail::enum_to_string(advice_names, advice); }

std::optional<Advice> parse_advice(std::string_view text) noexcept { return detail::enum_parse(advice_names, text); }

bool advice_takes_location(Advice advice) noexcept {
  return advice == Advice::set_preferred_location || advice == Advice::set_accessed_by ||
         advice == Advice::unset_accessed_by;
}

}  // namespace ghtier
