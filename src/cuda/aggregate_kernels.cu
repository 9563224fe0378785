// The aggregate kernels: a streaming scan of one column (plain, or bit-packed and decoded on the fly) with
// an optional range filter, per-thread partials, one atomic per warp at the end. Plus slot init/finalise.
#include "cuda/aggregate_kernels.hpp"

#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/support/cuda_check.hpp"
#include "cuda/aggregate_partial.cuh"
#include "cuda/bitpack_decode.cuh"
#include "cuda/column_scan.cuh"
#include "cuda/ordered_key.hpp"
#include "cuda/resident_grid.cuh"

namespace ghtier::detail {

namespace {

// V: the value column's type; F: the filter column's type, or NoColumn (no filter, or one on the values).
template <typename V, typename F>
__global__ void __launch_bounds__(scan_block_threads)
    aggregate_kernel(ScanColumn values, ScanFilter filter, ScanShape shape, AggregateSlots slots) {
  AggregatePartial<V> partial;
  auto visit = [&](bool valid, std::uint64_t, V value, F filter_value, NoColumn) {
    if (!valid) return;
    if constexpr (std::is_same_v<F, NoColumn>) {
      if (filter.enabled && !in_filter_range(filter, value)) return;
    } else {
      if (!in_filter_range(filter, filter_value)) return;
    }
    partial.add(value);
  };
  ColumnIn<F> filter_column{};
  if constexpr (!std::is_same_v<F, NoColumn>) filter_column.data = static_cast<const F*>(filter.column.data);
  for_each_row(shape, ColumnIn<V>{static_cast<const V*>(values.data)}, filter_column, ColumnIn<NoColumn>{}, visit);
  partial.flush(slots);
}

template <typename V, typename F>
__global__ void __launch_bounds__(scan_block_threads)
    packed_aggregate_kernel(PackedColumn values, ScanFilter filter, AggregateSlots slots) {
  AggregatePartial<V> partial;
  auto visit = [&](bool valid, std::uint64_t row, V value) {
    if (!valid) return;
    if constexpr (std::is_same_v<F, NoColumn>) {
      if (filter.enabled && !in_filter_range(filter, value)) return;
    } else {
      if (!in_filter_range(filter, load_streaming(static_cast<const F*>(filter.column.data) + row))) return;
    }
    partial.add(value);
  };
  for_each_packed_row<V>(values, slots.status + status_first_bad_block, visit);
  partial.flush(slots);
}

__global__ void aggregate_init_kernel(AggregateSlots slots) {
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t g = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x; g < slots.groups;
       g += stride) {
    slots.count[g] = 0;
    slots.sum[g] = 0;  // also 0.0 as a double
    slots.min_key[g] = ordered_key_min_identity;
    slots.max_key[g] = ordered_key_max_identity;
  }
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    slots.status[status_rows_out_of_range] = 0;
    slots.status[status_first_bad_block] = ~0ull;
  }
}

__global__ void aggregate_finalize_kernel(AggregateSlots slots, bool floating, AggregateResult* results,
                                          std::uint64_t* rows_out_of_range) {
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t g = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x; g < slots.groups;
       g += stride) {
    AggregateResult r;
    r.count = slots.count[g];
    if (floating) {
      r.sum_float = double_from_bits(slots.sum[g]);
      if (r.count > 0) {
        // Every counted value was NaN when no key arrived: min/max are NaN then.
        const bool none = slots.min_key[g] == ordered_key_min_identity;
        r.min_float = none ? __longlong_as_double(0x7ff8000000000000ll) : double_from_ordered_key(slots.min_key[g]);
        r.max_float = none ? __longlong_as_double(0x7ff8000000000000ll) : double_from_ordered_key(slots.max_key[g]);
      }
    } else {
      r.sum_int = static_cast<std::int64_t>(slots.sum[g]);
      r.sum_float = static_cast<double>(r.sum_int);
      if (r.count > 0) {
        r.min_int = int_from_ordered_key(slots.min_key[g]);
        r.max_int = int_from_ordered_key(slots.max_key[g]);
        r.min_float = static_cast<double>(r.min_int);
        r.max_float = static_cast<double>(r.max_int);
      }
    }
    results[g] = r;
  }
  if (rows_out_of_range != nullptr && blockIdx.x == 0 && threadIdx.x == 0) {
    *rows_out_of_range = slots.status[status_rows_out_of_range];
  }
}

unsigned small_grid(std::uint32_t groups) {
  const std::uint64_t blocks = (static_cast<std::uint64_t>(groups) + 255) / 256;
  return static_cast<unsigned>(blocks == 0 ? 1 : (blocks > 4096 ? 4096 : blocks));
}

// Calls fn(V{}) with the C++ type of a column type.
template <typename Fn>
void with_value_type(ColumnType type, Fn&& fn) {
  switch (type) {
    case ColumnType::int32: fn(std::int32_t{}); break;
    case ColumnType::int64: fn(std::int64_t{}); break;
    case ColumnType::float32: fn(float{}); break;
    case ColumnType::float64: fn(double{}); break;
  }
}

// Calls fn(F{}) with the filter column's type, or NoColumn when the filter has no column of its own.
template <typename Fn>
void with_filter_type(const ScanFilter& filter, Fn&& fn) {
  if (!filter.enabled || filter.on_values) {
    fn(NoColumn{});
  } else {
    with_value_type(filter.column.type, fn);
  }
}

}  // namespace

void launch_aggregate_init(const AggregateSlots& slots, cudaStream_t stream) {
  aggregate_init_kernel<<<small_grid(slots.groups), 256, 0, stream>>>(slots);
  GHTIER_CUDA_CHECK_LAUNCH("aggregate_init_kernel");
}

void launch_aggregate(const ScanColumn& values, const ScanFilter& filter, const ScanShape& shape,
                      const AggregateSlots& slots, cudaStream_t stream) {
  with_value_type(values.type, [&](auto value_tag) {
    using V = decltype(value_tag);
    with_filter_type(filter, [&](auto filter_tag) {
      using F = decltype(filter_tag);
      auto* kernel = aggregate_kernel<V, F>;
      const unsigned blocks = resident_blocks(kernel, shape.grid.blocks, shape.grid.threads);
      kernel<<<blocks, shape.grid.threads, 0, stream>>>(values, filter, shape, slots);
    });
  });
  GHTIER_CUDA_CHECK_LAUNCH("aggregate_kernel");
}

void launch_packed_aggregate(const PackedColumn& values, const ScanFilter& filter, const ScanGrid& grid,
                             const AggregateSlots& slots, cudaStream_t stream) {
  auto launch = [&](auto value_tag) {
    using V = decltype(value_tag);
    with_filter_type(filter, [&](auto filter_tag) {
      using F = decltype(filter_tag);
      auto* kernel = packed_aggregate_kernel<V, F>;
      const unsigned blocks = resident_blocks(kernel, grid.blocks, grid.threads);
      kernel<<<blocks, grid.threads, 0, stream>>>(values, filter, slots);
    });
  };
  if (values.value_type == ColumnType::int64) {
    launch(std::int64_t{});
  } else {
    launch(std::int32_t{});
  }
  GHTIER_CUDA_CHECK_LAUNCH("packed_aggregate_kernel");
}

void launch_aggregate_finalize(const AggregateSlots& slots, ColumnType value_type, AggregateResult* results,
                               std::uint64_t* rows_out_of_range, cudaStream_t stream) {
  const bool floating = !is_integer(value_type);
  aggregate_finalize_kernel<<<small_grid(slots.groups), 256, 0, stream>>>(slots, floating, results, rows_out_of_range);
  GHTIER_CUDA_CHECK_LAUNCH("aggregate_finalize_kernel");
}

}  // namespace ghtier::detail
