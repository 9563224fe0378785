// Placement: a policy's answer for one request: the allocation mode and the cudaMemAdvise set that the
// runtime applies, plus whether to prefetch to the GPU at once and a one-line reason for people.
#pragma once

#include "ghtier/export.h"

#include <string>

#include "ghtier/memory/location.hpp"
#include "ghtier/memory/memory_mode.hpp"

namespace ghtier {

/// The processors that get cudaMemAdviseSetAccessedBy (a mapping kept, so they read in place, not by fault).
struct GHTIER_API AccessedBy {
  bool gpu = false;
  bool cpu = false;
  [[nodiscard]] bool any() const noexcept { return gpu || cpu; }
  friend bool operator==(const AccessedBy&, const AccessedBy&) = default;
};

/// Where a request goes. The advice fields (preferred_location, accessed_by, read_mostly) and
/// prefetch_to_gpu_now only apply to modes whose pages the driver can move on this platform (managed
/// memory; system memory with ATS/HMM: relocation_for() == Relocation::prefetch); for every other mode they
/// are none / empty / false, which TierPolicy::resolve checks.
struct GHTIER_API Placement {
  MemoryMode mode = MemoryMode::device;
  Location preferred_location = Location::none;  ///< cudaMemAdviseSetPreferredLocation, none = not set
  AccessedBy accessed_by;                        ///< cudaMemAdviseSetAccessedBy for each processor set
  bool read_mostly = false;                      ///< cudaMemAdviseSetReadMostly
  bool prefetch_to_gpu_now = false;              ///< cudaMemPrefetchAsync to the GPU right after allocation
  std::string reason;                            ///< one line for people: which policy, which rule

  /// True when every field but the reason is equal (the reason is prose, not a decision).
  [[nodiscard]] bool same_decision(const Placement& other) const noexcept;
};

/// Compact form of the decision, e.g. "system, prefer host, accessed by gpu" or "device".
[[nodiscard]] GHTIER_API std::string describe(const Placement& placement);

}  // namespace ghtier
