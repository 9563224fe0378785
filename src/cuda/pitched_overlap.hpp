// Whether two pitched 2D regions (rows of one width, each side with its own pitch) share a byte: the overlap
// check of sm_copy_2d, which must accept disjoint interleaved regions (two columns of one pitched matrix).
#pragma once

#include <cstddef>

namespace ghtier::detail {

/// Whether some row [a + i * a_pitch, + width) (i < height) shares a byte with some row
/// [b + j * b_pitch, + width) (j < height). Pitches must be >= width when height > 1 (callers check that
/// first). Pure; O(1) when the spans are disjoint, O(height) otherwise.
[[nodiscard]] bool pitched_regions_overlap(const void* a, std::size_t a_pitch, const void* b, std::size_t b_pitch,
                                           std::size_t width, std::size_t height) noexcept;

}  // namespace ghtier::detail
