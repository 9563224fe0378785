// Argument checks of the column operations: clear errors that name the argument and the value.
#include "cuda/column_checks.hpp"

#include <cmath>
#include <string>

#include <fmt/format.h>

#include "core/memory/gpu_access.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {
bool known_type(ColumnType type) noexcept { return value_bytes(type) != 0; }
}  // namespace

void check_column(const ColumnView& column, std::string_view what) {
  if (!known_type(column.type)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: unknown column type {}", what, static_cast<int>(column.type)));
  }
  if (column.rows > 0 && column.data == nullptr) {
    throw_error(ErrorCode::invalid_argument, fmt::format("{}: null data for {} rows", what, column.rows));
  }
  const std::size_t size = value_bytes(column.type);
  if (reinterpret_cast<std::uintptr_t>(column.data) % size != 0) {
    throw_error(ErrorCode::invalid_argument, fmt::format("{}: data {} is not aligned to its {}-byte {} values", what,
                                                         column.data, size, to_string(column.type)));
  }
  if (column.rows > (~std::uint64_t{0}) / size) {
    throw_error(ErrorCode::invalid_argument, fmt::format("{}: {} rows overflow the address space", what, column.rows));
  }
}

ScanFilter make_scan_filter(const std::optional<RangeFilter>& filter, std::uint64_t rows, ColumnType values_type,
                            std::string_view operation) {
  ScanFilter scan;
  if (!filter) return scan;
  scan.enabled = true;
  ColumnType tested = values_type;
  if (filter->column) {
    check_column(*filter->column, fmt::format("{}: filter column", operation));
    if (filter->column->rows != rows) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("{}: the filter column has {} rows but the scanned column has {}", operation,
                              filter->column->rows, rows));
    }
    tested = filter->column->type;
    scan.column = ScanColumn{filter->column->data, filter->column->type};
  } else {
    scan.on_values = true;
  }
  if (is_integer(tested) && filter->float_bounds) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: a float_range filter on the {} column it tests: use RangeFilter::int_range", operation,
                            to_string(tested)));
  }
  if (!is_integer(tested) && !filter->float_bounds) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: an int_range filter on the {} column it tests: use RangeFilter::float_range",
                            operation, to_string(tested)));
  }
  if (filter->float_bounds && (std::isnan(filter->min_float) || std::isnan(filter->max_float))) {
    throw_error(ErrorCode::invalid_argument, fmt::format("{}: the filter's bounds [{}, {}] contain a NaN", operation,
                                                         filter->min_float, filter->max_float));
  }
  scan.min_int = filter->min_int;
  scan.max_int = filter->max_int;
  scan.min_float = filter->min_float;
  scan.max_float = filter->max_float;
  return scan;
}

void check_packed_column(const BitpackedColumnView& column, std::string_view what) {
  if (!is_integer(column.value_type)) {
    throw_error(ErrorCode::invalid_argument, fmt::format("{}: bit-packed columns hold int32 or int64 values, not {}",
                                                         what, to_string(column.value_type)));
  }
  if (column.rows > 0 && column.blocks == nullptr) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: null block headers for {} rows ({} blocks)", what, column.rows, column.block_count()));
  }
  if (column.word_count > 0 && column.words == nullptr) {
    throw_error(ErrorCode::invalid_argument, fmt::format("{}: null words for word_count {}", what, column.word_count));
  }
  if (reinterpret_cast<std::uintptr_t>(column.blocks) % 8 != 0) {
    throw_error(ErrorCode::invalid_argument, fmt::format("{}: block headers at {} are not 8-byte aligned", what,
                                                         static_cast<const void*>(column.blocks)));
  }
  if (reinterpret_cast<std::uintptr_t>(column.words) % 4 != 0) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: words at {} are not 4-byte aligned", what, static_cast<const void*>(column.words)));
  }
  // Every block holds at most 32 * 32 words: more words than that cannot belong to this column. For the
  // largest row counts the product passes 2^64; then no word count is too large (saturate, do not wrap).
  constexpr std::uint64_t words_per_block = 32ull * bitpack_max_width;
  const std::uint64_t blocks = column.block_count();
  const std::uint64_t most_words =
      blocks > ~std::uint64_t{0} / words_per_block ? ~std::uint64_t{0} : blocks * words_per_block;
  if (column.word_count > most_words) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: word_count {} exceeds the {} words that {} rows can pack into", what,
                            column.word_count, most_words, column.rows));
  }
}

void require_column_access(const ColumnView& column, std::string_view what) {
  require_gpu_access(column.data, column.bytes(), std::string(what).c_str());
}

void require_packed_access(const BitpackedColumnView& column, std::string_view what) {
  require_gpu_access(column.blocks, column.block_count() * sizeof(BitpackBlockHeader),
                     fmt::format("{}: block headers", what).c_str());
  require_gpu_access(column.words, column.word_count * sizeof(std::uint32_t), fmt::format("{}: words", what).c_str());
}

PackedColumn to_packed_column(const BitpackedColumnView& column) noexcept {
  PackedColumn packed;
  packed.blocks = column.blocks;
  packed.words = column.words;
  packed.word_count = column.word_count;
  packed.rows = column.rows;
  packed.block_count = column.block_count();
  packed.value_type = column.value_type;
  return packed;
}

}  // namespace ghtier::detail
