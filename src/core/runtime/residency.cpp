// Names of the residency enums.
#include "ghtier/runtime/residency.hpp"

#include "core/support/enum_names.hpp"

namespace ghtier {

constexpr detail::EnumName<ResidencyKind> residency_kind_names[] = {
    {ResidencyKind::device, "device"},   {ResidencyKind::host, "host"},
    {ResidencyKind::mixed, "mixed"},     {ResidencyKind::not_populated, "not_populated"},
    {ResidencyKind::unknown, "unknown"},
};
static_assert(detail::enum_names_complete(residency_kind_names, ResidencyKind::device, ResidencyKind::unknown));

std::string_view to_string(ResidencyKind kind) noexcept { return detail::enum_to_string(residency_kind_names, kind); }

constexpr detail::EnumName<ResidencySource> residency_source_names[] = {
    {ResidencySource::allocation_mode, "allocation_mode"},
    {ResidencySource::page_query, "page_query"},
    {ResidencySource::last_prefetch_location, "last_prefetch_location"},
    {ResidencySource::preferred_location, "preferred_location"},
    {ResidencySource::none, "none"},
};
static_assert(detail::enum_names_complete(residency_source_names, ResidencySource::allocation_mode,
                                          ResidencySource::none));

std::string_view to_string(ResidencySource source) noexcept {
  return detail::enum_to_string(residency_source_names, source);
}

}  // namespace ghtier
