// pitched_regions_overlap: exact, without walking every pair of rows.
#include "cuda/pitched_overlap.hpp"

#include <cstdint>

namespace ghtier::detail {

namespace {
// Whether some row [base + i * pitch, + width) with i < height meets the window [x, x + width).
bool any_row_meets(std::uintptr_t base, std::size_t pitch, std::size_t height, std::uintptr_t x,
                   std::size_t width) noexcept {
  // Row i meets the window when base + i * pitch lies in (x - width, x + width). With pitch >= width at
  // most three rows can; check the ones around (x - base) / pitch.
  if (x + width <= base) return false;
  const std::uintptr_t offset = x > base ? x - base : 0;
  const std::size_t centre = pitch == 0 ? 0 : offset / pitch;
  const std::size_t first = centre > 0 ? centre - 1 : 0;
  for (std::size_t i = first; i <= centre + 2 && i < height; ++i) {
    const std::uintptr_t row = base + i * pitch;
    if (row < x + width && x < row + width) return true;
  }
  return false;
}
}  // namespace

bool pitched_regions_overlap(const void* a, std::size_t a_pitch, const void* b, std::size_t b_pitch, std::size_t width,
                             std::size_t height) noexcept {
  if (width == 0 || height == 0) return false;
  const auto a0 = reinterpret_cast<std::uintptr_t>(a);
  const auto b0 = reinterpret_cast<std::uintptr_t>(b);
  if (height == 1) return a0 < b0 + width && b0 < a0 + width;
  const std::uintptr_t a_end = a0 + (height - 1) * a_pitch + width;
  const std::uintptr_t b_end = b0 + (height - 1) * b_pitch + width;
  if (a_end <= b0 || b_end <= a0) return false;  // disjoint spans: the common case
  for (std::size_t j = 0; j < height; ++j) {
    if (any_row_meets(a0, a_pitch, height, b0 + j * b_pitch, width)) return true;
  }
  return false;
}

}  // namespace ghtier::detail
