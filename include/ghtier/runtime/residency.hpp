// Residency: where the bytes of a range are now (device, host and which NUMA node, mixed), and how ghtier
// knows: from the allocation mode (exact), the kernel's page table (exact at the instant of the query), or
// the driver's last prefetch / preferred location (approximate: the driver does not say where each
// managed page is).
#pragma once

#include "ghtier/export.h"

#include <cstddef>
#include <string_view>

namespace ghtier {

enum class ResidencyKind {
  device,         ///< every known byte is in the GPU's memory
  host,           ///< every known byte is in CPU memory
  mixed,          ///< some in each
  not_populated,  ///< no page exists yet (system memory never touched): first touch will decide
  unknown,        ///< nothing tells where (managed memory never prefetched and without a preferred location)
};

/// How the answer was obtained.
enum class ResidencySource {
  allocation_mode,         ///< device or pinned memory: it cannot move (exact)
  page_query,              ///< the kernel's page table (move_pages in query mode) for system memory (exact)
  last_prefetch_location,  ///< cudaMemRangeAttributeLastPrefetchLocation (approximate: pages may have moved
                           ///< since, and the prefetch may not even have run yet)
  preferred_location,      ///< cudaMemRangeAttributePreferredLocation (approximate: where pages tend to go)
  none,                    ///< nothing known
};

struct GHTIER_API Residency {
  ResidencyKind where = ResidencyKind::unknown;
  int numa_node = -1;             ///< the host NUMA node holding all the host bytes, -1 if several or unknown
  std::size_t device_bytes = 0;   ///< bytes of the range known to be (or last sent) in the GPU's memory
  std::size_t host_bytes = 0;     ///< ... in CPU memory
  std::size_t unknown_bytes = 0;  ///< ... not populated, or not reported
  ResidencySource source = ResidencySource::none;
  /// True unless the source is exact (allocation_mode or page_query).
  [[nodiscard]] bool approximate() const noexcept {
    return source != ResidencySource::allocation_mode && source != ResidencySource::page_query;
  }
};

[[nodiscard]] GHTIER_API std::string_view to_string(ResidencyKind kind) noexcept;
[[nodiscard]] GHTIER_API std::string_view to_string(ResidencySource source) noexcept;

}  // namespace ghtier
