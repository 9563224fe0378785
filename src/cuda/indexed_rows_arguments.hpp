// Argument checks shared by the index-driven row kernels (gather, sorted_gather, scatter, RowCache): the
// pure part runs before any CUDA call (and is tested in CI), the access part asks CUDA about the pointers.
#pragma once

#include <cstddef>

namespace ghtier::detail {

/// The arguments of one index-driven row copy: `count` rows between a table and a dense rows buffer.
struct IndexedRows {
  const char* operation = "";  ///< "gather", "scatter", ... (names the call in messages)
  const void* table = nullptr;
  std::size_t row_bytes = 0;
  std::size_t num_rows = 0;
  const void* indices = nullptr;
  std::size_t index_bytes = 0;  ///< 4 or 8
  std::size_t count = 0;
  const void* rows = nullptr;  ///< gather: out; scatter: the rows written into the table
  bool table_written = false;  ///< scatter: the table is the destination
};

/// Throws Error(invalid_argument) naming the operation and the argument: a zero row width, table or rows
/// sizes that overflow, a null indices/rows pointer with count > 0, a null or empty table with count > 0,
/// the destination overlapping a source (rows vs table, indices vs the destination). No CUDA call.
void validate_indexed_rows(const IndexedRows& args);

/// Throws Error(unsupported) for each of table, indices and rows that the current GPU cannot reach.
void require_indexed_rows_access(const IndexedRows& args);

/// Whether [a, a + a_bytes) and [b, b + b_bytes) share a byte. Pure.
[[nodiscard]] bool ranges_overlap(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes) noexcept;

/// a * b, or throws Error(invalid_argument) "<operation>: <what> overflows (a x b)".
[[nodiscard]] std::size_t checked_product(const char* operation, const char* what, std::size_t a, std::size_t b);

}  // namespace ghtier::detail
