// pitched_regions_overlap: exact overlap of two pitched regions, in 128-bit arithmetic so that no address
// or extent can wrap.
#include "cuda/pitched_regions_overlap.hpp"

#include <algorithm>

namespace ghtier::detail {

namespace {
using Wide = __int128;

// floor(n / d) for d > 0.
Wide floor_div(Wide n, Wide d) { return n >= 0 ? n / d : -((-n + d - 1) / d); }
// ceil(n / d) for d > 0.
Wide ceil_div(Wide n, Wide d) { return -floor_div(-n, d); }

// Is there an integer k in [k_min, k_max] with lo <= base + k * step <= hi? (step > 0)
bool lattice_hits(Wide base, Wide step, Wide k_min, Wide k_max, Wide lo, Wide hi) {
  const Wide first = std::max(k_min, ceil_div(lo - base, step));
  const Wide last = std::min(k_max, floor_div(hi - base, step));
  return first <= last;
}
}  // namespace

bool pitched_regions_overlap(std::uintptr_t a, std::size_t a_pitch, std::uintptr_t b, std::size_t b_pitch,
                             std::size_t width, std::size_t height) noexcept {
  if (width == 0 || height == 0) return false;
  const Wide w = static_cast<Wide>(width);
  const Wide rows = static_cast<Wide>(height);
  const Wide a0 = static_cast<Wide>(a);
  const Wide b0 = static_cast<Wide>(b);
  const Wide pa = static_cast<Wide>(a_pitch);
  const Wide pb = static_cast<Wide>(b_pitch);
  // Disjoint extents: nothing to look at row by row.
  const Wide a_end = a0 + (rows - 1) * pa + w;
  const Wide b_end = b0 + (rows - 1) * pb + w;
  if (a_end <= b0 || b_end <= a0) return false;
  // Rows x (of a) and y (of b) meet iff |y - x| < w, i.e. x - w + 1 <= y <= x + w - 1.
  if (pa == pb) {
    if (pa == 0) return b0 - a0 < w && a0 - b0 < w;
    // y - x = (b0 - a0) + k * pitch with k = j - i in [-(rows - 1), rows - 1].
    return lattice_hits(b0 - a0, pa, -(rows - 1), rows - 1, -w + 1, w - 1);
  }
  for (Wide i = 0; i < rows; ++i) {
    const Wide x = a0 + i * pa;
    if (pb == 0) {
      if (b0 - x < w && x - b0 < w) return true;
    } else if (lattice_hits(b0, pb, 0, rows - 1, x - w + 1, x + w - 1)) {
      return true;
    }
  }
  return false;
}

}  // namespace ghtier::detail
