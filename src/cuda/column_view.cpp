// Names of the column types.
#include "ghtier/kernels/column_view.hpp"

#include "core/support/enum_names.hpp"

namespace ghtier {

constexpr detail::EnumName<ColumnType> column_type_names[] = {
    {ColumnType::int32, "int32"},
    {ColumnType::int64, "int64"},
    {ColumnType::float32, "float32"},
    {ColumnType::float64, "float64"},
};
static_assert(detail::enum_names_complete(column_type_names, ColumnType::int32, ColumnType::float64));

std::string_view to_string(ColumnType type) noexcept { return detail::enum_to_string(column_type_names, type); }

}  // namespace ghtier
