// for_each_row: the streaming loop of every column kernel. It walks rows [0, rows) of up to three columns
// at once (any GPU-reachable tier), with 16-byte loads where the columns share an alignment phase, several
// vector steps in flight per thread before any is used, and evict-first loads (the columns pass once, so
// they should not push a hash table out of L2). Device code only: include from .cu files.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "cuda/column_scan_plan.hpp"

namespace ghtier::detail {

/// The value type of an absent column.
struct NoColumn {};

inline constexpr unsigned full_warp_mask = 0xffffffffu;

/// A typed column start; ColumnIn<NoColumn> reads nothing.
template <typename T>
struct ColumnIn {
  const T* data = nullptr;
};
template <>
struct ColumnIn<NoColumn> {};

template <typename T>
__device__ __forceinline__ T value_from_bits32(std::uint32_t bits) {
  if constexpr (std::is_same_v<T, float>) {
    return __uint_as_float(bits);
  } else {
    return static_cast<T>(static_cast<std::int32_t>(bits));
  }
}
template <typename T>
__device__ __forceinline__ T value_from_bits64(std::uint32_t low, std::uint32_t high) {
  const unsigned long long bits = (static_cast<unsigned long long>(high) << 32) | low;
  if constexpr (std::is_same_v<T, double>) {
    return __longlong_as_double(static_cast<long long>(bits));
  } else {
    return static_cast<T>(static_cast<long long>(bits));
  }
}

/// One value, streaming (evict-first) load.
template <typename T>
__device__ __forceinline__ T load_streaming(const T* p) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    return __ldcs(p);
  } else if constexpr (sizeof(T) == 4) {
    return static_cast<T>(__ldcs(reinterpret_cast<const int*>(p)));
  } else {
    return static_cast<T>(__ldcs(reinterpret_cast<const long long*>(p)));
  }
}

/// Rows row..row+3 of a column: one (4-byte values) or two (8-byte values) 16-byte loads when `vectorized`
/// (the address is then 16-byte aligned), else four scalar loads.
template <typename T>
__device__ __forceinline__ void load_step(const ColumnIn<T>& column, std::uint64_t row, bool vectorized,
                                          T (&out)[scan_rows_per_vector]) {
  if constexpr (std::is_same_v<T, NoColumn>) {
    (void)column, (void)row, (void)vectorized, (void)out;
  } else {
    const T* p = column.data + row;
    if (vectorized) {
      if constexpr (sizeof(T) == 4) {
        const uint4 v = __ldcs(reinterpret_cast<const uint4*>(p));
        out[0] = value_from_bits32<T>(v.x);
        out[1] = value_from_bits32<T>(v.y);
        out[2] = value_from_bits32<T>(v.z);
        out[3] = value_from_bits32<T>(v.w);
      } else {
        const uint4 a = __ldcs(reinterpret_cast<const uint4*>(p));
        const uint4 b = __ldcs(reinterpret_cast<const uint4*>(p) + 1);
        out[0] = value_from_bits64<T>(a.x, a.y);
        out[1] = value_from_bits64<T>(a.z, a.w);
        out[2] = value_from_bits64<T>(b.x, b.y);
        out[3] = value_from_bits64<T>(b.z, b.w);
      }
    } else {
#pragma unroll
      for (unsigned j = 0; j < scan_rows_per_vector; ++j) out[j] = load_streaming(p + j);
    }
  }
}

template <typename T>
__device__ __forceinline__ T load_row(const ColumnIn<T>& column, std::uint64_t row) {
  if constexpr (std::is_same_v<T, NoColumn>) {
    (void)column, (void)row;
    return NoColumn{};
  } else {
    return load_streaming(column.data + row);
  }
}

/// Calls visit(valid, row, a, b, c) for every row of the scan, where a, b, c are the row's values of the
/// three columns (NoColumn{} for an absent one). Every thread of the grid makes the same number of calls,
/// so visit may use warp-wide primitives with the full mask; calls with valid == false carry no row (their
/// values are default-constructed) and must contribute nothing.
template <typename T0, typename T1, typename T2, typename Visit>
__device__ __forceinline__ void for_each_row(const ScanShape& shape, const ColumnIn<T0>& c0, const ColumnIn<T1>& c1,
                                             const ColumnIn<T2>& c2, Visit& visit) {
  constexpr unsigned steps_per_thread = scan_vectors_per_thread;
  constexpr unsigned rows_per_step = scan_rows_per_vector;
  const std::uint64_t thread = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::uint64_t grid_threads = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  const VectorPlan& plan = shape.vectors;

  {  // scalar head: rows [0, head_rows), one per thread of the first few
    const bool valid = thread < plan.head_rows;
    const std::uint64_t row = valid ? thread : 0;
    T0 a{};
    T1 b{};
    T2 c{};
    if (valid) {
      a = load_row(c0, row);
      b = load_row(c1, row);
      c = load_row(c2, row);
    }
    visit(valid, row, a, b, c);
  }

  const std::uint64_t body_start = plan.head_rows;
  for (std::uint64_t base = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x * steps_per_thread;
       base < plan.body_steps; base += grid_threads * steps_per_thread) {
    T0 a[steps_per_thread][rows_per_step]{};
    T1 b[steps_per_thread][rows_per_step]{};
    T2 c[steps_per_thread][rows_per_step]{};
    // Issue every load of this pass before using any: steps_per_thread x (1-2 loads) per column in flight.
#pragma unroll
    for (unsigned k = 0; k < steps_per_thread; ++k) {
      const std::uint64_t step = base + static_cast<std::uint64_t>(k) * blockDim.x + threadIdx.x;
      if (step < plan.body_steps) {
        const std::uint64_t row = body_start + step * rows_per_step;
        load_step(c0, row, plan.vectorized, a[k]);
        load_step(c1, row, plan.vectorized, b[k]);
        load_step(c2, row, plan.vectorized, c[k]);
      }
    }
#pragma unroll
    for (unsigned k = 0; k < steps_per_thread; ++k) {
      const std::uint64_t step = base + static_cast<std::uint64_t>(k) * blockDim.x + threadIdx.x;
      const bool valid = step < plan.body_steps;
      const std::uint64_t row = body_start + step * rows_per_step;
#pragma unroll
      for (unsigned j = 0; j < rows_per_step; ++j) visit(valid, row + j, a[k][j], b[k][j], c[k][j]);
    }
  }

  {  // scalar tail: the last tail_rows rows
    const std::uint64_t tail_start = body_start + plan.body_steps * rows_per_step;
    const bool valid = thread < plan.tail_rows;
    const std::uint64_t row = valid ? tail_start + thread : 0;
    T0 a{};
    T1 b{};
    T2 c{};
    if (valid) {
      a = load_row(c0, row);
      b = load_row(c1, row);
      c = load_row(c2, row);
    }
    visit(valid, row, a, b, c);
  }
}

}  // namespace ghtier::detail
