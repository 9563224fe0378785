// ColumnView: a non-owning, typed view of one column of a table (int32, int64, float or double values)
// in any memory tier. The scan, aggregate, group-by and hash-join kernels read their inputs through it.
#pragma once

#include "ghtier/export.h"

#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

namespace ghtier {

/// The element type of a column.
enum class ColumnType : std::uint8_t {
  int32,    ///< std::int32_t
  int64,    ///< std::int64_t
  float32,  ///< float
  float64,  ///< double
};

/// "int32", "int64", "float32", "float64" ("unknown" for other values).
[[nodiscard]] GHTIER_API std::string_view to_string(ColumnType type) noexcept;
/// Bytes of one value: 4 or 8 (0 for a value outside the enumeration).
[[nodiscard]] constexpr std::size_t value_bytes(ColumnType type) noexcept {
  switch (type) {
    case ColumnType::int32:
    case ColumnType::float32: return 4;
    case ColumnType::int64:
    case ColumnType::float64: return 8;
  }
  return 0;
}
/// True for int32 and int64.
[[nodiscard]] constexpr bool is_integer(ColumnType type) noexcept {
  return type == ColumnType::int32 || type == ColumnType::int64;
}

/// The ColumnType of a C++ value type (int32_t, int64_t, float, double).
template <typename T>
inline constexpr ColumnType column_type_of = [] {
  if constexpr (std::is_same_v<T, std::int32_t>)
    return ColumnType::int32;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return ColumnType::int64;
  else if constexpr (std::is_same_v<T, float>)
    return ColumnType::float32;
  else {
    static_assert(std::is_same_v<T, double>, "columns hold int32_t, int64_t, float or double");
    return ColumnType::float64;
  }
}();

/// `rows` values of `type` at `data`: device, pinned host or managed memory, or plain malloc'd memory on
/// platforms whose GPU reads pageable memory (ATS/HMM). `data` must be aligned to the value size and may
/// be null only when rows == 0. The view owns nothing; the memory must outlive every operation using it.
struct GHTIER_API ColumnView {
  const void* data = nullptr;
  std::uint64_t rows = 0;
  ColumnType type = ColumnType::int32;

  /// Bytes the column occupies (rows * value size).
  [[nodiscard]] constexpr std::uint64_t bytes() const noexcept { return rows * value_bytes(type); }
};

/// A view of `rows` values at `data`.
template <typename T>
[[nodiscard]] constexpr ColumnView column_view(const T* data, std::uint64_t rows) noexcept {
  return ColumnView{data, rows, column_type_of<std::remove_cv_t<T>>};
}
/// A view of a span's values.
template <typename T>
[[nodiscard]] constexpr ColumnView column_view(std::span<T> values) noexcept {
  return column_view<std::remove_cv_t<T>>(values.data(), values.size());
}

}  // namespace ghtier
