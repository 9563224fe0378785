// A C enum argument as the int the caller passed. C lets any int travel in an enum type; in C++ a value
// outside the enum's range is undefined behaviour the moment it is read as the enum (UBSan's -fsanitize=enum
// flags it, and the optimiser may drop a range check written after such a read), so entry points read the
// bytes as an int and let the to_* checks refuse it with a message.
#pragma once

#include <cstring>

namespace ghtier::capi {

template <typename CEnum>
[[nodiscard]] int c_enum_value(const CEnum& value) noexcept {
  static_assert(sizeof(CEnum) == sizeof(int), "C enums are int-sized on the platforms ghtier supports");
  int raw = 0;
  std::memcpy(&raw, &value, sizeof raw);
  return raw;
}

}  // namespace ghtier::capi
