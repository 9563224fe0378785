// Argument checks shared by the column operations (aggregate, group-by, hash join): what can be said about
// a column, a filter or a packed column without a GPU, and the GPU-reachability check before a launch.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "cuda/scan_args.hpp"
#include "ghtier/kernels/bitpacked_column.hpp"
#include "ghtier/kernels/column_view.hpp"
#include "ghtier/kernels/range_filter.hpp"

namespace ghtier::detail {

/// Throws Error(invalid_argument) naming `what` for a type outside ColumnType, null data with rows > 0,
/// or data not aligned to the value size. Pure.
void check_column(const ColumnView& column, std::string_view what);

/// Checks `filter` (if any) against a scan of `rows` values of `values_type` and returns it in kernel form.
/// Throws Error(invalid_argument) naming `operation` for a filter column of another length or a bad
/// column, integer bounds on a floating-point column or the reverse, or NaN bounds. Pure.
[[nodiscard]] ScanFilter make_scan_filter(const std::optional<RangeFilter>& filter, std::uint64_t rows,
                                          ColumnType values_type, std::string_view operation);

/// Throws Error(invalid_argument) naming `what` for a packed view that cannot be read safely: value type
/// not int32/int64, null headers or words where some are needed, headers not 8-byte aligned or words not
/// 4-byte aligned, fewer words than the smallest possible packing (none) is fine. Pure (reads no header).
void check_packed_column(const BitpackedColumnView& column, std::string_view what);

/// detail::require_gpu_access for a column's bytes (nothing for an empty column).
void require_column_access(const ColumnView& column, std::string_view what);
/// The same for a packed column's headers and words.
void require_packed_access(const BitpackedColumnView& column, std::string_view what);

/// A packed view in kernel form.
[[nodiscard]] PackedColumn to_packed_column(const BitpackedColumnView& column) noexcept;

}  // namespace ghtier::detail
