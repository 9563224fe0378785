// The four tiers as placements per platform: the building blocks of every built-in policy.
#include "ghtier/policy/tier_placements.hpp"

namespace ghtier {

namespace {
bool advice_applies(const Platform& platform, MemoryMode mode) noexcept {
  return relocation_for(platform, mode) == Relocation::prefetch;
}
}  // namespace

Placement device_tier(const Platform&) {
  Placement p;
  p.mode = MemoryMode::device;
  p.reason = "HBM";
  return p;
}

Placement host_tier(const Platform& platform) {
  Placement p;
  if (platform.host_access == HostAccess::ats) {
    p.mode = MemoryMode::system;
    p.reason = "CPU memory read in place over NVLink-C2C (ATS)";
    if (advice_applies(platform, p.mode)) {
      // Preferred host keeps access counters from migrating the cache into HBM; accessed-by keeps the map.
      p.preferred_location = Location::host;
      p.accessed_by.gpu = true;
      p.reason += "; preferred location host keeps it out of HBM";
    }
  } else {
    // With HMM the GPU would fault pageable pages over to HBM instead of reading them in place.
    p.mode = MemoryMode::pinned_host;
    p.reason = "pinned host memory read in place over the link (zero-copy)";
  }
  return p;
}

Placement shared_tier(const PlacementRequest& request, const Platform& platform) {
  Placement p;
  const bool ats = platform.host_access == HostAccess::ats;
  p.mode = ats ? MemoryMode::system : MemoryMode::managed;
  p.reason =
      ats ? "system memory, pages migrate on demand (ATS)" : "managed memory, pages migrate on fault or prefetch";
  if (!advice_applies(platform, p.mode)) {
    p.reason += "; no advice (the driver cannot move pages here)";
    return p;
  }
  const bool gpu_touches = request.accessor != Accessor::cpu;
  const bool often = request.frequency == AccessFrequency::hot || request.frequency == AccessFrequency::warm;
  if (request.accessor == Accessor::cpu) {
    p.preferred_location = Location::host;
    p.reason += "; CPU-only data prefers the host";
  } else if (!often) {
    // Touched once or rarely: migrating it would cost more than reading it over the link.
    p.preferred_location = Location::host;
    p.accessed_by.gpu = true;
    p.reason += "; seldom touched: stays in CPU memory, the GPU reads it in place";
  } else if (request.accessor == Accessor::gpu) {
    p.preferred_location = Location::device;
    p.prefetch_to_gpu_now = request.frequency == AccessFrequency::hot;
    p.reason += p.prefetch_to_gpu_now ? "; hot GPU data prefers the device and is prefetched now"
                                      : "; warm GPU data prefers the device, migrates on first touch";
  } else {
    p.reason += "; both processors touch it often: pages follow the toucher";
  }
  if (request.read_mostly && gpu_touches && request.frequency != AccessFrequency::streamed_once) {
    p.read_mostly = true;
    p.reason += "; read-mostly: readers get their own copy";
  }
  return p;
}

Placement cpu_tier(const Platform&) {
  Placement p;
  p.mode = MemoryMode::system;
  p.reason = "CPU-only data in plain system memory";
  return p;
}

}  // namespace ghtier
