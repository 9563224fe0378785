// Names of the column types.
#include "ghtier/column_view.hpp"

namespace ghtier {

std::string_view to_string(ColumnType type) noexcept {
  switch (type) {
    case ColumnType::int32: return "int32";
    case ColumnType::int64: return "int64";
    case ColumnType::float32: return "float32";
    case ColumnType::float64: return "float64";
  }
  return "unknown";
}

}  // namespace ghtier
