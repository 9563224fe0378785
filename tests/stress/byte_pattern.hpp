// The stress test's byte patterns: every operation fills its source from its own seed, so that a byte that
// lands in the wrong place, comes from the wrong operation or is never written shows up when compared.
// The pattern is a pure function of (seed, position), so a slice can be checked without the whole source.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace ghtier::stress {

/// The byte at `position` of the pattern stream of `seed`.
[[nodiscard]] unsigned char pattern_byte(std::uint64_t seed, std::size_t position) noexcept;

/// Writes bytes [offset, offset + bytes) of the pattern of `seed` to dst.
void fill_pattern(void* dst, std::size_t bytes, std::uint64_t seed, std::size_t offset = 0) noexcept;

/// The first index i < bytes where data[i] differs from the pattern byte at offset + i, or nullopt.
[[nodiscard]] std::optional<std::size_t> first_pattern_mismatch(const void* data, std::size_t bytes, std::uint64_t seed,
                                                                std::size_t offset = 0) noexcept;

/// The first index i < bytes where data[i] != value, or nullopt (for poison guards around a copied range).
[[nodiscard]] std::optional<std::size_t> first_byte_not(const void* data, std::size_t bytes,
                                                        unsigned char value) noexcept;

}  // namespace ghtier::stress
