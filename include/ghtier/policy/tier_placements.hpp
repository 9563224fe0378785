// The four tiers every built-in policy chooses between, as placements for one platform. Public so that a
// user policy can build on the same blocks (e.g. "host tier for tag X, else spill").
#pragma once

#include "ghtier/export.h"

#include "ghtier/platform/platform.hpp"
#include "ghtier/policy/placement.hpp"
#include "ghtier/policy/placement_request.hpp"

namespace ghtier {

/// HBM: MemoryMode::device, no advice.
[[nodiscard]] GHTIER_API Placement device_tier(const Platform& platform);

/// CPU memory that the GPU reads in place. GH200 (ATS): system memory, preferred location host and
/// accessed by the GPU (so access counters do not migrate it into HBM). PCIe, with or without HMM: pinned
/// host memory (zero-copy over the link; HMM would migrate pageable pages on fault instead).
[[nodiscard]] GHTIER_API Placement host_tier(const Platform& platform);

/// Memory whose pages move to whoever uses them: system memory on ATS, managed memory elsewhere. The advice
/// follows the request: GPU-only hot or warm data prefers the device (hot is prefetched at once); CPU-only
/// data prefers the host; cold or streamed-once data that the GPU touches prefers the host and is accessed
/// by the GPU in place; data both touch often gets no preferred location (pages follow the toucher).
/// Read-mostly is advised when the GPU touches the data more than once (not for streamed-once data).
/// On a platform where managed memory does not migrate, the advice is left out.
[[nodiscard]] GHTIER_API Placement shared_tier(const PlacementRequest& request, const Platform& platform);

/// Plain system memory for data only the CPU touches, no advice (first touch places it).
[[nodiscard]] GHTIER_API Placement cpu_tier(const Platform& platform);

}  // namespace ghtier
