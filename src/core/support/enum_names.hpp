// One table of names per enum, read both ways: to_string and parse come from the same entries, so a name
// cannot be printed that does not parse back, and adding a value means adding one line.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <type_traits>

namespace ghtier::detail {

/// One (value, name) entry. A value may have several entries: the first is its name, the others are
/// aliases that parse accepts (e.g. "pinned" for MemoryMode::pinned_host).
template <class Enum>
struct EnumName {
  Enum value;
  std::string_view name;
};

/// The value's (first) name in `table`, or `unknown` for a value the table does not list.
template <class Enum, std::size_t N>
[[nodiscard]] constexpr std::string_view enum_to_string(const EnumName<Enum> (&table)[N], Enum value,
                                                        std::string_view unknown = "unknown") noexcept {
  for (const EnumName<Enum>& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return unknown;
}

/// The value whose name or alias is exactly `text` (case-sensitive), or nullopt.
template <class Enum, std::size_t N>
[[nodiscard]] constexpr std::optional<Enum> enum_parse(const EnumName<Enum> (&table)[N],
                                                       std::string_view text) noexcept {
  for (const EnumName<Enum>& entry : table) {
    if (entry.name == text) return entry.value;
  }
  return std::nullopt;
}

/// For static_assert beside each table: names are non-empty and unique, and every value from `first` to
/// `last` (the enumerators, declared without gaps) has a name. A switch got this from -Wswitch; a table
/// needs it said.
template <class Enum, std::size_t N>
[[nodiscard]] constexpr bool enum_names_complete(const EnumName<Enum> (&table)[N], Enum first, Enum last) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    if (table[i].name.empty()) return false;
    for (std::size_t j = i + 1; j < N; ++j) {
      if (table[i].name == table[j].name) return false;
    }
  }
  using Underlying = std::underlying_type_t<Enum>;
  for (auto v = static_cast<Underlying>(first); v <= static_cast<Underlying>(last); ++v) {
    bool named = false;
    for (const EnumName<Enum>& entry : table) named = named || static_cast<Underlying>(entry.value) == v;
    if (!named) return false;
  }
  return true;
}

}  // namespace ghtier::detail
