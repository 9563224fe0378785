// The CUDA calls behind prefetch, advise, residency and ScopedAdvice: cudaMemPrefetchAsync, cudaMemAdvise
// and cudaMemRangeGetAttribute with CUDA 13's cudaMemLocation, in one place.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "ghtier/memory/location.hpp"
#include "ghtier/memory/memory_advice.hpp"

namespace ghtier::detail {

/// device -> the GPU `device`; host -> host memory. Throws Error(invalid_argument) for Location::none.
[[nodiscard]] cudaMemLocation cuda_location(Location location, int device);

/// cudaMemAdvise on [p, p + bytes). `location` is ignored by the advice that takes none.
void apply_advice(const void* p, std::size_t bytes, Advice advice, Location location, int device);

/// cudaMemPrefetchAsync of [p, p + bytes) to `location` on `stream`.
void prefetch_range(const void* p, std::size_t bytes, Location location, int device, cudaStream_t stream);

/// A location as the driver reports it for a range: where, and a host NUMA node when it names one.
struct DriverLocation {
  Location location = Location::none;  ///< none: no single location (never set, or not the same for all pages)
  int numa_node = -1;
};

/// What the driver says about a managed range (cudaMemRangeGetAttribute).
struct RangeAdvice {
  bool read_mostly = false;
  DriverLocation preferred;
  DriverLocation last_prefetch;
  bool accessed_by_device = false;  ///< the runtime's GPU has accessed-by set on the whole range
  bool accessed_by_host = false;    ///< the CPU has accessed-by set on the whole range
};

/// Queries the managed range [p, p + bytes). Throws Error(cuda_error) (e.g. for memory the driver does not
/// manage).
[[nodiscard]] RangeAdvice query_range_advice(const void* p, std::size_t bytes, int device);

/// Pure: a (cudaMemLocationType, id) pair as the driver returns it -> DriverLocation.
[[nodiscard]] DriverLocation driver_location(cudaMemLocationType type, int id) noexcept;

}  // namespace ghtier::detail
