// pitched_regions_overlap: whether two pitched 2D regions (height rows of width bytes, rows a pitch apart)
// share a byte. Exact, so that copies between interleaved regions (one column of a matrix to another) stay
// allowed while a copy that would read bytes it has already written is refused.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ghtier::detail {

/// True when some row [a + i * a_pitch, + width) meets some row [b + j * b_pitch, + width), i, j < height.
/// Pure; O(1) for equal pitches, else O(height) when the regions' extents meet (the rare case).
[[nodiscard]] bool pitched_regions_overlap(std::uintptr_t a, std::size_t a_pitch, std::uintptr_t b,
                                           std::size_t b_pitch, std::size_t width, std::size_t height) noexcept;

}  // namespace ghtier::detail
