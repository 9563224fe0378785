// cudaMemAdvise / cudaMemPrefetchAsync / cudaMemRangeGetAttribute with cudaMemLocation (CUDA 13).
#include "core/memory/range_advice.hpp"

#include <array>

#include "core/support/cuda_check.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

cudaMemLocation cuda_location(Location location, int device) {
  cudaMemLocation l{};
  switch (location) {
    case Location::device:
      l.type = cudaMemLocationTypeDevice;
      l.id = device;
      return l;
    case Location::host:
      l.type = cudaMemLocationTypeHost;
      l.id = 0;  // ignored for the host type
      return l;
    case Location::none: break;
  }
  throw_error(ErrorCode::invalid_argument, "a location of device or host is needed here, not none");
}

namespace {
cudaMemoryAdvise cuda_advice(Advice advice) {
  switch (advice) {
    case Advice::set_read_mostly: return cudaMemAdviseSetReadMostly;
    case Advice::unset_read_mostly: return cudaMemAdviseUnsetReadMostly;
    case Advice::set_preferred_location: return cudaMemAdviseSetPreferredLocation;
    case Advice::unset_preferred_location: return cudaMemAdviseUnsetPreferredLocation;
    case Advice::set_accessed_by: return cudaMemAdviseSetAccessedBy;
    case Advice::unset_accessed_by: return cudaMemAdviseUnsetAccessedBy;
  }
  throw_error(ErrorCode::invalid_argument, "unknown Advice value");
}
}  // namespace

void apply_advice(const void* p, std::size_t bytes, Advice advice, Location location, int device) {
  // The advice without a location still takes a cudaMemLocation argument, which CUDA ignores.
  const cudaMemLocation where =
      advice_takes_location(advice) ? cuda_location(location, device) : cuda_location(Location::device, device);
  GHTIER_CUDA_CHECK(cudaMemAdvise(p, bytes, cuda_advice(advice), where));
}

void prefetch_range(const void* p, std::size_t bytes, Location location, int device, cudaStream_t stream) {
  GHTIER_CUDA_CHECK(cudaMemPrefetchAsync(p, bytes, cuda_location(location, device), 0, stream));
}

DriverLocation driver_location(cudaMemLocationType type, int id) noexcept {
  switch (type) {
    case cudaMemLocationTypeDevice: return {Location::device, -1};
    case cudaMemLocationTypeHost: return {Location::host, -1};
    case cudaMemLocationTypeHostNuma: return {Location::host, id};
    case cudaMemLocationTypeHostNumaCurrent: return {Location::host, -1};
    default: return {};
  }
}

RangeAdvice query_range_advice(const void* p, std::size_t bytes, int device) {
  RangeAdvice out;
  int read_mostly = 0;
  GHTIER_CUDA_CHECK(
      cudaMemRangeGetAttribute(&read_mostly, sizeof(read_mostly), cudaMemRangeAttributeReadMostly, p, bytes));
  out.read_mostly = read_mostly != 0;

  cudaMemLocationType type = cudaMemLocationTypeInvalid;
  int id = 0;
  GHTIER_CUDA_CHECK(
      cudaMemRangeGetAttribute(&type, sizeof(type), cudaMemRangeAttributePreferredLocationType, p, bytes));
  GHTIER_CUDA_CHECK(cudaMemRangeGetAttribute(&id, sizeof(id), cudaMemRangeAttributePreferredLocationId, p, bytes));
  out.preferred = driver_location(type, id);
  // A device preference for another GPU is not "device" to this runtime.
  if (out.preferred.location == Location::device && id != device) out.preferred = {};

  type = cudaMemLocationTypeInvalid;
  id = 0;
  GHTIER_CUDA_CHECK(
      cudaMemRangeGetAttribute(&type, sizeof(type), cudaMemRangeAttributeLastPrefetchLocationType, p, bytes));
  GHTIER_CUDA_CHECK(cudaMemRangeGetAttribute(&id, sizeof(id), cudaMemRangeAttributeLastPrefetchLocationId, p, bytes));
  out.last_prefetch = driver_location(type, id);
  if (out.last_prefetch.location == Location::device && id != device) out.last_prefetch = {};

  // Device ids with accessed-by set on the whole range; cudaCpuDeviceId (-1) stands for the CPU, and
  // unused slots come back as cudaInvalidDeviceId.
  std::array<int, 64> ids{};
  GHTIER_CUDA_CHECK(cudaMemRangeGetAttribute(ids.data(), sizeof(ids), cudaMemRangeAttributeAccessedBy, p, bytes));
  for (int accessor : ids) {
    if (accessor == device) out.accessed_by_device = true;
    if (accessor == cudaCpuDeviceId) out.accessed_by_host = true;
  }
  return out;
}

}  // namespace ghtier::detail
