// RangeFilter: the predicate of a scan ("WHERE lo <= column <= hi"), evaluated inside the aggregate and
// group-by kernels as the rows stream past, on the aggregated column itself or on another column.
#pragma once

#include "ghtier/export.h"

#include <cstdint>
#include <limits>
#include <optional>

#include "ghtier/kernels/column_view.hpp"

namespace ghtier {

/// Keeps the rows whose filter value v satisfies lo <= v <= hi (both bounds inclusive; lo > hi keeps
/// nothing). Integer columns compare as int64 against [min_int, max_int]; float and double columns compare
/// as double against [min_float, max_float], so a NaN never passes. Build one with int_range() or
/// float_range(): an operation refuses (Error invalid_argument) integer bounds on a floating-point column
/// and floating-point bounds on an integer column.
struct GHTIER_API RangeFilter {
  /// The column tested: empty means the aggregated column itself; otherwise a column with as many rows.
  std::optional<ColumnView> column;
  /// Which pair of bounds applies: false = [min_int, max_int] (integer columns), true = the float pair.
  bool float_bounds = false;
  std::int64_t min_int = std::numeric_limits<std::int64_t>::min();
  std::int64_t max_int = std::numeric_limits<std::int64_t>::max();
  double min_float = -std::numeric_limits<double>::infinity();
  double max_float = std::numeric_limits<double>::infinity();

  /// lo <= value <= hi on the aggregated (integer) column itself.
  [[nodiscard]] static RangeFilter int_range(std::int64_t lo, std::int64_t hi) noexcept {
    RangeFilter filter;
    filter.min_int = lo;
    filter.max_int = hi;
    return filter;
  }
  /// lo <= column[row] <= hi on another integer column. Checked (integer type) when the operation runs.
  [[nodiscard]] static RangeFilter int_range(ColumnView on, std::int64_t lo, std::int64_t hi) noexcept {
    RangeFilter filter = int_range(lo, hi);
    filter.column = on;
    return filter;
  }
  /// lo <= value <= hi on the aggregated (float or double) column itself.
  [[nodiscard]] static RangeFilter float_range(double lo, double hi) noexcept {
    RangeFilter filter;
    filter.float_bounds = true;
    filter.min_float = lo;
    filter.max_float = hi;
    return filter;
  }
  /// lo <= column[row] <= hi on another float or double column. Checked when the operation runs.
  [[nodiscard]] static RangeFilter float_range(ColumnView on, double lo, double hi) noexcept {
    RangeFilter filter = float_range(lo, hi);
    filter.column = on;
    return filter;
  }
};

}  // namespace ghtier
