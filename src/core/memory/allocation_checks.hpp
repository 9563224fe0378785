// Argument checks and alignment arithmetic shared by every memory resource, so that a zero size, a bad
// alignment or an absurd size gets the same clear error whichever mode was asked.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ghtier::detail {

/// Larger requests are refused as invalid before any arithmetic on them can overflow (64 PiB).
inline constexpr std::size_t max_allocation_bytes = std::size_t{1} << 56;
/// Largest alignment a resource honours (1 GiB).
inline constexpr std::size_t max_alignment = std::size_t{1} << 30;

[[nodiscard]] constexpr bool is_power_of_two(std::size_t value) noexcept {
  return value != 0 && (value & (value - 1)) == 0;
}
static_assert(sizeof(std::uintptr_t) == sizeof(std::size_t), "addresses are rounded with size_t arithmetic");

/// `value` rounded up to a multiple of `alignment` (a power of two); no overflow below max_allocation_bytes.
[[nodiscard]] constexpr std::size_t align_up(std::size_t value, std::size_t alignment) noexcept {
  return (value + alignment - 1) & ~(alignment - 1);
}
[[nodiscard]] inline bool is_aligned(const void* p, std::size_t alignment) noexcept {
  return (reinterpret_cast<std::uintptr_t>(p) & (alignment - 1)) == 0;
}

/// Throws Error(invalid_argument) naming `operation` and the value when bytes is zero or above
/// max_allocation_bytes, or alignment is not a power of two or above max_alignment.
void check_allocation_arguments(std::size_t bytes, std::size_t alignment, const char* operation);

}  // namespace ghtier::detail
