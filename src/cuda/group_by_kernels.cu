// The group-by kernel: a streaming scan of a key, a value and an optional filter column; per-group
// partials in shared memory (or device memory when there are too many groups), updated with atomics.
// A warp whose rows all carry the same key (sorted or clustered keys, "all keys equal") reduces them with
// shuffles first and updates the group once, so hot keys do not serialise 32 atomics.
#include "cuda/group_by_kernels.hpp"

#include <cstdint>
#include <type_traits>

#include "core/support/cuda_check.hpp"
#include "cuda/aggregate_partial.cuh"
#include "cuda/column_scan.cuh"
#include "cuda/ordered_key.hpp"
#include "cuda/resident_grid.cuh"
#include "cuda/warp_reduce.cuh"

namespace ghtier::detail {

namespace {

// Where a kernel keeps the groups while it scans: shared or device memory, same layout.
struct GroupArrays {
  unsigned long long* count;
  unsigned long long* sum;
  unsigned long long* min_key;
  unsigned long long* max_key;
};

template <typename V>
__device__ __forceinline__ unsigned long long sum_bits(V value) {
  if constexpr (std::is_floating_point_v<V>) {
    return double_bits(static_cast<double>(value));
  } else {
    return static_cast<unsigned long long>(static_cast<std::int64_t>(value));
  }
}

template <typename V>
__device__ __forceinline__ bool has_order(V value) {
  if constexpr (std::is_floating_point_v<V>) {
    return value == value;  // NaN has no place in min/max
  } else {
    (void)value;
    return true;
  }
}

template <typename V>
__device__ __forceinline__ unsigned long long value_key(V value) {
  if constexpr (std::is_floating_point_v<V>) {
    return ordered_key(static_cast<double>(value));
  } else {
    return ordered_key(static_cast<std::int64_t>(value));
  }
}

// One warp's reduced contribution to group g (sum_float for floating-point values, sum_int otherwise).
template <typename V>
__device__ __forceinline__ void add_to_group(const GroupArrays& groups, std::uint64_t g, unsigned long long count,
                                             double sum_float, unsigned long long sum_int, unsigned long long low,
                                             unsigned long long high) {
  atomicAdd(groups.count + g, count);
  if constexpr (std::is_floating_point_v<V>) {
    atomicAdd(reinterpret_cast<double*>(groups.sum + g), sum_float);
  } else {
    atomicAdd(groups.sum + g, sum_int);
  }
  if (low != ordered_key_min_identity) atomicMin(groups.min_key + g, low);
  if (high != ordered_key_max_identity) atomicMax(groups.max_key + g, high);
}

// Adds one row per lane (take == false: nothing) to its group. Called by every lane of the warp.
template <typename K, typename V>
__device__ __forceinline__ void update_groups(const GroupArrays& groups, bool take, K key, V value) {
  const unsigned take_mask = __ballot_sync(full_warp_mask, take);
  if (take_mask == 0) return;
  const int leader = __ffs(take_mask) - 1;
  const K leader_key = __shfl_sync(full_warp_mask, key, leader);
  const bool ordered = take && has_order(value);
  if (__all_sync(full_warp_mask, !take || key == leader_key)) {
    // One group for the whole warp: reduce, then one update.
    unsigned long long sum_int = 0;
    double sum_float = 0;
    if constexpr (std::is_floating_point_v<V>) {
      sum_float = warp_sum(take ? static_cast<double>(value) : 0.0);
    } else {
      sum_int = warp_sum(take ? sum_bits(value) : 0ull);
    }
    const unsigned long long low = warp_min(ordered ? value_key(value) : ordered_key_min_identity);
    const unsigned long long high = warp_max(ordered ? value_key(value) : ordered_key_max_identity);
    if (lane_id() == 0) {  // where the reductions' results are valid (leader_key is in every lane)
      add_to_group<V>(groups, static_cast<std::uint64_t>(leader_key), __popc(take_mask), sum_float, sum_int, low, high);
    }
    return;
  }
  if (take) {
    const std::uint64_t g = static_cast<std::uint64_t>(key);
    atomicAdd(groups.count + g, 1ull);
    if constexpr (std::is_floating_point_v<V>) {
      atomicAdd(reinterpret_cast<double*>(groups.sum + g), static_cast<double>(value));
    } else {
      atomicAdd(groups.sum + g, sum_bits(value));
    }
    if (ordered) {
      const unsigned long long k = value_key(value);
      atomicMin(groups.min_key + g, k);
      atomicMax(groups.max_key + g, k);
    }
  }
}

// K: key type; V: value type; F: filter column type (NoColumn: none, or on the values).
template <typename K, typename V, typename F, bool Shared>
__global__ void __launch_bounds__(2 * scan_block_threads)
    group_by_kernel(ScanColumn keys, ScanColumn values, ScanFilter filter, ScanShape shape, AggregateSlots slots) {
  extern __shared__ unsigned long long shared_groups[];
  const std::uint32_t group_count = slots.groups;
  GroupArrays groups{slots.count, slots.sum, slots.min_key, slots.max_key};
  if constexpr (Shared) {
    groups = GroupArrays{shared_groups, shared_groups + group_count, shared_groups + 2ull * group_count,
                         shared_groups + 3ull * group_count};
    for (std::uint32_t g = threadIdx.x; g < group_count; g += blockDim.x) {
      groups.count[g] = 0;
      groups.sum[g] = 0;
      groups.min_key[g] = ordered_key_min_identity;
      groups.max_key[g] = ordered_key_max_identity;
    }
    __syncthreads();
  }

  unsigned long long out_of_range = 0;
  auto visit = [&](bool valid, std::uint64_t, K key, V value, F filter_value) {
    bool take = valid;
    if constexpr (std::is_same_v<F, NoColumn>) {
      if (filter.enabled) take = take && in_filter_range(filter, value);
    } else {
      take = take && in_filter_range(filter, filter_value);
    }
    const bool in_range = static_cast<std::int64_t>(key) >= 0 && static_cast<std::int64_t>(key) < group_count;
    if (take && !in_range) {
      ++out_of_range;
      take = false;
    }
    update_groups(groups, take, key, value);
  };
  ColumnIn<F> filter_column{};
  if constexpr (!std::is_same_v<F, NoColumn>) filter_column.data = static_cast<const F*>(filter.column.data);
  for_each_row(shape, ColumnIn<K>{static_cast<const K*>(keys.data)}, ColumnIn<V>{static_cast<const V*>(values.data)},
               filter_column, visit);

  const unsigned long long skipped = warp_sum(out_of_range);
  if (lane_id() == 0 && skipped != 0) atomicAdd(slots.status + status_rows_out_of_range, skipped);

  if constexpr (Shared) {
    __syncthreads();
    for (std::uint32_t g = threadIdx.x; g < group_count; g += blockDim.x) {
      const unsigned long long count = groups.count[g];
      if (count == 0) continue;
      atomicAdd(slots.count + g, count);
      if constexpr (std::is_floating_point_v<V>) {
        atomicAdd(reinterpret_cast<double*>(slots.sum + g), double_from_bits(groups.sum[g]));
      } else {
        atomicAdd(slots.sum + g, groups.sum[g]);
      }
      if (groups.min_key[g] != ordered_key_min_identity) atomicMin(slots.min_key + g, groups.min_key[g]);
      if (groups.max_key[g] != ordered_key_max_identity) atomicMax(slots.max_key + g, groups.max_key[g]);
    }
  }
}

template <typename Fn>
void with_type(ColumnType type, Fn&& fn) {
  switch (type) {
    case ColumnType::int32: fn(std::int32_t{}); break;
    case ColumnType::int64: fn(std::int64_t{}); break;
    case ColumnType::float32: fn(float{}); break;
    case ColumnType::float64: fn(double{}); break;
  }
}

}  // namespace

void launch_group_by(const ScanColumn& keys, const ScanColumn& values, const ScanFilter& filter, const ScanShape& shape,
                     const GroupByLaunch& launch, const AggregateSlots& slots, cudaStream_t stream) {
  const bool shared = launch.strategy == GroupByStrategy::shared_memory;
  auto run = [&](auto key_tag, auto value_tag, auto filter_tag) {
    using K = decltype(key_tag);
    using V = decltype(value_tag);
    using F = decltype(filter_tag);
    if (shared) {
      auto* kernel = group_by_kernel<K, V, F, true>;
      GHTIER_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             static_cast<int>(launch.shared_bytes)));
      const unsigned blocks = resident_blocks(kernel, launch.grid.blocks, launch.grid.threads, launch.shared_bytes);
      kernel<<<blocks, launch.grid.threads, launch.shared_bytes, stream>>>(keys, values, filter, shape, slots);
    } else {
      auto* kernel = group_by_kernel<K, V, F, false>;
      const unsigned blocks = resident_blocks(kernel, launch.grid.blocks, launch.grid.threads);
      kernel<<<blocks, launch.grid.threads, 0, stream>>>(keys, values, filter, shape, slots);
    }
  };
  auto with_key = [&](auto value_tag, auto filter_tag) {
    if (keys.type == ColumnType::int64) {
      run(std::int64_t{}, value_tag, filter_tag);
    } else {
      run(std::int32_t{}, value_tag, filter_tag);
    }
  };
  with_type(values.type, [&](auto value_tag) {
    if (!filter.enabled || filter.on_values) {
      with_key(value_tag, NoColumn{});
    } else {
      with_type(filter.column.type, [&](auto filter_tag) { with_key(value_tag, filter_tag); });
    }
  });
  GHTIER_CUDA_CHECK_LAUNCH("group_by_kernel");
}

}  // namespace ghtier::detail
