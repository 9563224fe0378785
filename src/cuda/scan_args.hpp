// The plain arguments that the column kernels' launchers take: which columns, which filter, how the scan is
// cut. Shared by the host code (.cpp: validation, planning) and the kernels (.cu), so it holds no logic.
#pragma once

#include <cstdint>

#include "cuda/column_scan_plan.hpp"
#include "ghtier/kernels/bitpacked_column.hpp"
#include "ghtier/kernels/column_view.hpp"

namespace ghtier::detail {

/// A column without its length (the scan's row count applies).
struct ScanColumn {
  const void* data = nullptr;
  ColumnType type = ColumnType::int32;
};

/// The range filter of a scan; bounds as in RangeFilter.
struct ScanFilter {
  bool enabled = false;
  bool on_values = false;  ///< the filter tests the aggregated values themselves (column unused)
  ScanColumn column;
  std::int64_t min_int = 0;
  std::int64_t max_int = 0;
  double min_float = 0;
  double max_float = 0;
};

/// A bit-packed column as the kernels see it.
struct PackedColumn {
  const BitpackBlockHeader* blocks = nullptr;
  const std::uint32_t* words = nullptr;
  std::uint64_t word_count = 0;
  std::uint64_t rows = 0;
  std::uint64_t block_count = 0;
  ColumnType value_type = ColumnType::int32;
};

}  // namespace ghtier::detail
