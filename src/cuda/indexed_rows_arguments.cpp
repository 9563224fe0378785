// validate_indexed_rows / require_indexed_rows_access: what gather, scatter and RowCache refuse before launch.
#include "cuda/indexed_rows_arguments.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "core/memory/gpu_access.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

bool ranges_overlap(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes) noexcept {
  if (a == nullptr || b == nullptr || a_bytes == 0 || b_bytes == 0) return false;
  const auto a0 = reinterpret_cast<std::uintptr_t>(a);
  const auto b0 = reinterpret_cast<std::uintptr_t>(b);
  return a0 < b0 ? b0 - a0 < a_bytes : a0 - b0 < b_bytes;
}

std::size_t checked_product(const char* operation, const char* what, std::size_t a, std::size_t b) {
  if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) {
    throw_error(ErrorCode::invalid_argument, fmt::format("{}: {} overflows ({} x {})", operation, what, a, b));
  }
  return a * b;
}

void validate_indexed_rows(const IndexedRows& args) {
  const char* op = args.operation;
  if (args.row_bytes == 0) throw_error(ErrorCode::invalid_argument, fmt::format("{}: row_bytes is 0", op));
  const std::size_t table_bytes = checked_product(op, "table size num_rows * row_bytes", args.num_rows, args.row_bytes);
  const std::size_t rows_bytes = checked_product(op, "rows size count * row_bytes", args.count, args.row_bytes);
  const std::size_t index_bytes = checked_product(op, "indices size", args.count, args.index_bytes);
  if (args.count == 0) return;
  if (args.indices == nullptr) {
    throw_error(ErrorCode::invalid_argument, fmt::format("{}: indices is null with count {}", op, args.count));
  }
  if (args.rows == nullptr) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: {} is null with count {}", op, args.table_written ? "rows" : "out", args.count));
  }
  if (args.num_rows == 0) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("{}: the table has no rows (num_rows 0), so none of the {} indices can be valid", op, args.count));
  }
  if (args.table == nullptr) throw_error(ErrorCode::invalid_argument, fmt::format("{}: table is null", op));
  if (ranges_overlap(args.rows, rows_bytes, args.table, table_bytes)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: {} [{}, +{} B) overlaps the table [{}, +{} B)", op,
                            args.table_written ? "rows" : "out", args.rows, rows_bytes, args.table, table_bytes));
  }
  const void* destination = args.table_written ? args.table : args.rows;
  const std::size_t destination_bytes = args.table_written ? table_bytes : rows_bytes;
  if (ranges_overlap(args.indices, index_bytes, destination, destination_bytes)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: indices [{}, +{} B) overlap the {} being written", op, args.indices, index_bytes,
                            args.table_written ? "table" : "output"));
  }
}

void require_indexed_rows_access(const IndexedRows& args) {
  if (args.count == 0) return;
  const std::string op = args.operation;
  require_gpu_access(args.table, args.num_rows * args.row_bytes, (op + " table").c_str());
  require_gpu_access(args.indices, args.count * args.index_bytes, (op + " indices").c_str());
  require_gpu_access(args.rows, args.count * args.row_bytes, (op + (args.table_written ? " rows" : " out")).c_str());
}

}  // namespace ghtier::detail
