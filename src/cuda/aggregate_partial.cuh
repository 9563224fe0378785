// AggregatePartial: one thread's running count/sum/min/max over the rows it scanned, merged into the
// device-memory AggregateSlots with one atomic per warp and field at the kernel's end. Device code only.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <limits>
#include <type_traits>

#include "cuda/aggregate_slots.hpp"
#include "cuda/ordered_key.hpp"
#include "cuda/scan_args.hpp"
#include "cuda/warp_reduce.cuh"

namespace ghtier::detail {

/// Integers accumulate in int64 (wrapping, as unsigned), floating point in double; min/max in the
/// column's own type, NaN skipped (a comparison with NaN is false).
template <typename V>
struct AggregatePartial {
  static constexpr bool floating = std::is_floating_point_v<V>;
  using Sum = std::conditional_t<floating, double, unsigned long long>;
  using Extreme = std::conditional_t<floating, double, std::int64_t>;

  unsigned long long count = 0;
  Sum sum = 0;
  // Start at the identities: +inf/-inf for floating point (so "no value" stays distinguishable from every
  // finite or infinite value), the type's ends for integers (whose keys are the slots' identities).
  Extreme min_value = floating ? std::numeric_limits<Extreme>::infinity() : std::numeric_limits<Extreme>::max();
  Extreme max_value = floating ? -std::numeric_limits<Extreme>::infinity() : std::numeric_limits<Extreme>::lowest();
  bool has_extreme = false;  // a value (not NaN) reached min/max

  __device__ __forceinline__ void add(V value) {
    ++count;
    if constexpr (floating) {
      const double v = static_cast<double>(value);
      sum += v;
      if (v < min_value) min_value = v;
      if (v > max_value) max_value = v;
      has_extreme = has_extreme || v == v;
    } else {
      const auto v = static_cast<std::int64_t>(value);
      sum += static_cast<unsigned long long>(v);
      min_value = v < min_value ? v : min_value;
      max_value = v > max_value ? v : max_value;
      has_extreme = true;
    }
  }

  /// Every thread of the grid calls this once at its end (full-mask shuffles).
  __device__ __forceinline__ void flush(const AggregateSlots& slots, std::uint32_t group = 0) const {
    const unsigned long long total = warp_broadcast(warp_sum(count));
    if (total == 0) return;  // warp-uniform (broadcast): the reductions below need every lane
    const Sum total_sum = warp_sum(sum);
    // The identities are no-ops for atomicMin/atomicMax, and no real double maps to them.
    const unsigned long long low = warp_min(has_extreme ? ordered_key(min_value) : ordered_key_min_identity);
    const unsigned long long high = warp_max(has_extreme ? ordered_key(max_value) : ordered_key_max_identity);
    if (lane_id() == 0) {  // where the reductions' results are valid
      atomicAdd(slots.count + group, total);
      if constexpr (floating) {
        atomicAdd(reinterpret_cast<double*>(slots.sum + group), total_sum);
      } else {
        atomicAdd(slots.sum + group, total_sum);
      }
      atomicMin(slots.min_key + group, low);
      atomicMax(slots.max_key + group, high);
    }
  }
};

/// Does `value` fall inside the filter's bounds (integers as int64, floating point as double)?
template <typename T>
__device__ __forceinline__ bool in_filter_range(const ScanFilter& filter, T value) {
  if constexpr (std::is_floating_point_v<T>) {
    const double v = static_cast<double>(value);
    return v >= filter.min_float && v <= filter.max_float;
  } else {
    const auto v = static_cast<std::int64_t>(value);
    return v >= filter.min_int && v <= filter.max_int;
  }
}

}  // namespace ghtier::detail
