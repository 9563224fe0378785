// Versioned C structs (struct_size first): reading an input struct that may be older (smaller) than the
// library's, and writing an output struct only as far as the caller's struct_size reaches.
#pragma once

#include <cstddef>
#include <cstring>
#include <type_traits>

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier::capi {

/// Throws Error(invalid_argument) naming `what` unless struct_size is a multiple of 8 between `minimum`
/// and sizeof(T): 0, a size that cuts a field group, or one larger than this library knows, is refused.
template <typename T>
void check_struct_size(std::size_t struct_size, std::size_t minimum, const char* what) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (struct_size == 0 || struct_size % 8 != 0 || struct_size < minimum || struct_size > sizeof(T)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}->struct_size is {}: set it to sizeof the struct ({} in this library; an older "
                            "header's size is accepted down to {}, in multiples of 8)",
                            what, struct_size, sizeof(T), minimum));
  }
}

/// The caller's input struct over `defaults`: the fields its struct_size covers come from it, the rest
/// keep their defaults. Throws Error(invalid_argument) for a null pointer or a bad struct_size.
template <typename T>
[[nodiscard]] T read_versioned(const T* in, T defaults, std::size_t minimum, const char* what) {
  if (in == nullptr) throw_error(ErrorCode::invalid_argument, fmt::format("{} is NULL", what));
  check_struct_size<T>(in->struct_size, minimum, what);
  std::memcpy(static_cast<void*>(&defaults), static_cast<const void*>(in), in->struct_size);
  defaults.struct_size = sizeof(T);
  return defaults;
}

/// Throws Error(invalid_argument) unless `out` is a writable output struct (not null, valid struct_size).
template <typename T>
void check_output(const T* out, const char* what) {
  if (out == nullptr) throw_error(ErrorCode::invalid_argument, fmt::format("{} is NULL", what));
  check_struct_size<T>(out->struct_size, sizeof(std::size_t), what);
}

/// Writes `value` into the caller's struct as far as its struct_size reaches (struct_size is kept).
template <typename T>
void write_versioned(T* out, const T& value) {
  const std::size_t size = out->struct_size;
  std::memcpy(static_cast<void*>(out), static_cast<const void*>(&value), size);
  out->struct_size = size;
}

}  // namespace ghtier::capi
