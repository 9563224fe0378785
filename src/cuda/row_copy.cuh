// Device side of every row copy (gather, scatter, cached gather, sorted gather, 2D SM copy): the kernels of
// the four RowCopyPlan shapes, generic over a Mapping that says where row i comes from and goes to, and the
// warp-wide copy of one byte range at any alignment. Included by .cu files only.
//
// A Mapping is a small trivially-copyable struct with
//   __device__ RowPair row(std::size_t i) const;   where row i is read from and written to
//   __device__ void report(std::size_t i) const;    row i's index was out of range (called once per row)
//   static constexpr bool counts_hits;              and only if it is true,
//   __device__ void add_hits(unsigned hits, unsigned misses) const;
#pragma once

#include <cuda_runtime.h>

#include <bit>
#include <cstddef>
#include <cstdint>

#include "core/support/cuda_check.hpp"
#include "cuda/index_fault.hpp"
#include "cuda/row_copy_plan.hpp"

namespace ghtier::detail {

struct RowPair {
  const unsigned char* src = nullptr;  ///< null: write zeros (a gather's out-of-range index)
  unsigned char* dst = nullptr;        ///< null: copy nothing (a scatter's out-of-range index, a skipped row)
  bool bad = false;                    ///< the row's index was out of range: report it
  bool hit = false;                    ///< served from a cache (for mappings that count hits)
};

/// Counts an out-of-range index; the first to arrive also leaves its position and value.
__device__ inline void record_bad_index(IndexFault* fault, std::size_t position, long long value, std::size_t rows) {
  atomicAdd(&fault->count, 1ull);
  if (atomicCAS(&fault->position_plus_one, 0ull, static_cast<unsigned long long>(position) + 1ull) == 0ull) {
    fault->value = value;
    fault->rows = rows;
  }
}

/// Whether idx names a row of a table of `rows` rows (negative values of signed types do not).
template <class Index>
__device__ inline bool index_in_range(Index idx, std::size_t rows) {
  return idx >= 0 && static_cast<unsigned long long>(idx) < rows;
}

template <unsigned Bytes>
struct AccessType;
template <>
struct AccessType<16> {
  using type = uint4;
};
template <>
struct AccessType<8> {
  using type = uint2;
};
template <>
struct AccessType<4> {
  using type = unsigned;
};
template <>
struct AccessType<2> {
  using type = unsigned short;
};
template <>
struct AccessType<1> {
  using type = unsigned char;
};

inline constexpr unsigned full_warp = 0xffffffffu;
/// 16-byte words each lane keeps in flight in a warp copy (two per word when re-aligning, which needs
/// twice the registers): with 32 warps per SM that is 1-2 MB in flight over the GPU, several times what
/// the link's bandwidth-latency product asks for even on GH200.
inline constexpr unsigned warp_copy_unroll = 4;
inline constexpr unsigned warp_realign_unroll = 2;

/// Lanes copy bytes [begin, end) one byte each (src == nullptr: zeros).
__device__ inline void warp_copy_bytes(unsigned char* dst, const unsigned char* src, std::size_t begin, std::size_t end,
                                       unsigned lane) {
  for (std::size_t b = begin + lane; b < end; b += 32) dst[b] = src != nullptr ? src[b] : 0;
}

/// Bytes shift..shift+15 of the 32 bytes lo|hi (little-endian), for shift in 1..15.
__device__ inline uint4 funnel16(uint4 lo, uint4 hi, unsigned shift) {
  const unsigned k = shift >> 2;
  const unsigned bits = (shift & 3u) * 8u;
  const unsigned w0 = lo.x, w1 = lo.y, w2 = lo.z, w3 = lo.w, w4 = hi.x, w5 = hi.y, w6 = hi.z, w7 = hi.w;
  // Words k..k+4 with selects, not an indexed array (which would live in local memory).
  const unsigned a0 = k == 0 ? w0 : k == 1 ? w1 : k == 2 ? w2 : w3;
  const unsigned a1 = k == 0 ? w1 : k == 1 ? w2 : k == 2 ? w3 : w4;
  const unsigned a2 = k == 0 ? w2 : k == 1 ? w3 : k == 2 ? w4 : w5;
  const unsigned a3 = k == 0 ? w3 : k == 1 ? w4 : k == 2 ? w5 : w6;
  const unsigned a4 = k == 0 ? w4 : k == 1 ? w5 : k == 2 ? w6 : w7;
  return make_uint4(__funnelshift_r(a0, a1, bits), __funnelshift_r(a1, a2, bits), __funnelshift_r(a2, a3, bits),
                    __funnelshift_r(a3, a4, bits));
}

__device__ inline uint4 shuffle_down(uint4 v) {
  return make_uint4(__shfl_down_sync(full_warp, v.x, 1), __shfl_down_sync(full_warp, v.y, 1),
                    __shfl_down_sync(full_warp, v.z, 1), __shfl_down_sync(full_warp, v.w, 1));
}

/// Copies n bytes from src to dst with the 32 lanes of one warp; every lane calls it with the same
/// arguments. src == nullptr writes zeros. dst is 16-aligned after a byte-wide head; the body moves in
/// 16-byte stores. If src is then 16-aligned too, loads are 16-byte words; if not, each lane loads the
/// aligned source word under its output word and takes the next one from its neighbour (a shuffle), then
/// funnel-shifts the pair, so a misaligned copy still reads every byte once with 16-byte loads. Reads
/// never leave [src, src + n): words that would are copied byte-wise instead.
__device__ inline void warp_copy(unsigned char* dst, const unsigned char* src, std::size_t n, unsigned lane) {
  constexpr unsigned U = warp_copy_unroll;
  if (n < 64) {
    warp_copy_bytes(dst, src, 0, n, lane);
    return;
  }
  const std::size_t head = (16 - (reinterpret_cast<std::uintptr_t>(dst) & 15u)) & 15u;
  const std::size_t words = (n - head) / 16;  // at least 3
  uint4* body = reinterpret_cast<uint4*>(dst + head);
  if (src == nullptr) {
    warp_copy_bytes(dst, nullptr, 0, head, lane);
    for (std::size_t j = lane; j < words; j += 32) body[j] = make_uint4(0, 0, 0, 0);
    warp_copy_bytes(dst, nullptr, head + 16 * words, n, lane);
    return;
  }
  const unsigned char* src_body = src + head;
  const unsigned shift = static_cast<unsigned>(reinterpret_cast<std::uintptr_t>(src_body) & 15u);
  if (shift == 0) {
    const uint4* from = reinterpret_cast<const uint4*>(src_body);
    warp_copy_bytes(dst, src, 0, head, lane);
    for (std::size_t base = 0; base < words; base += 32 * U) {
      uint4 v[U];
#pragma unroll
      for (unsigned u = 0; u < U; ++u) {
        const std::size_t j = base + u * 32 + lane;
        if (j < words) v[u] = from[j];
      }
#pragma unroll
      for (unsigned u = 0; u < U; ++u) {
        const std::size_t j = base + u * 32 + lane;
        if (j < words) body[j] = v[u];
      }
    }
    warp_copy_bytes(dst, src, head + 16 * words, n, lane);
    return;
  }
  // Output word j needs aligned source words j and j + 1. Word 0 starts `shift` bytes before src_body,
  // inside the range only if the head is at least that long; the word after the last output word ends
  // 16 - shift bytes past it, inside only if the tail is at least that long.
  const uint4* aligned = reinterpret_cast<const uint4*>(src_body - shift);
  const std::size_t tail = n - head - 16 * words;
  const std::size_t first = head >= shift ? 0 : 1;
  const std::size_t last = tail >= 16 - shift ? words : words - 1;  // output words [first, last)
  constexpr unsigned UR = warp_realign_unroll;
  warp_copy_bytes(dst, src, 0, head + 16 * first, lane);
  for (std::size_t base = first; base < last; base += 32 * UR) {  // the same trip count on every lane
    uint4 lo[UR];
    uint4 hi[UR];
#pragma unroll
    for (unsigned u = 0; u < UR; ++u) {
      const std::size_t j = base + u * 32 + lane;
      lo[u] = j <= last ? aligned[j] : make_uint4(0, 0, 0, 0);  // aligned[last] is in range (see above)
    }
#pragma unroll
    for (unsigned u = 0; u < UR; ++u) {
      const std::size_t j = base + u * 32 + lane;
      hi[u] = shuffle_down(lo[u]);
      if (lane == 31 && j < last) hi[u] = aligned[j + 1];
    }
#pragma unroll
    for (unsigned u = 0; u < UR; ++u) {
      const std::size_t j = base + u * 32 + lane;
      if (j < last) body[j] = funnel16(lo[u], hi[u], shift);
    }
  }
  warp_copy_bytes(dst, src, head + 16 * last, n, lane);
}

/// Adds per-thread hit and miss counts to the mapping's counters, one atomic per warp.
template <class Mapping>
__device__ inline void flush_hits(const Mapping& map, unsigned hits, unsigned misses) {
  if constexpr (Mapping::counts_hits) {
    hits = __reduce_add_sync(full_warp, hits);
    misses = __reduce_add_sync(full_warp, misses);
    if ((threadIdx.x & 31u) == 0 && (hits | misses) != 0) map.add_hits(hits, misses);
  }
}

/// Thread and group shapes: 2^lanes_log2 lanes per row, one access of Bytes each (accesses <= lanes), each
/// lane with row_copy_rows_in_flight rows' loads issued before their stores.
template <unsigned Bytes, class Mapping>
__global__ void __launch_bounds__(row_copy_block_threads, row_copy_blocks_per_sm)
    copy_rows_grouped(Mapping map, std::size_t rows, unsigned accesses, unsigned lanes_log2) {
  using T = typename AccessType<Bytes>::type;
  constexpr unsigned R = row_copy_rows_in_flight;
  const std::size_t thread = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const unsigned lane = static_cast<unsigned>(thread) & ((1u << lanes_log2) - 1u);
  const std::size_t group = thread >> lanes_log2;
  const std::size_t groups = (static_cast<std::size_t>(gridDim.x) * blockDim.x) >> lanes_log2;
  unsigned hits = 0;
  unsigned misses = 0;
  for (std::size_t first = group; first < rows; first += groups * R) {
    RowPair pair[R];
    T value[R];
#pragma unroll
    for (unsigned r = 0; r < R; ++r) {
      const std::size_t i = first + r * groups;
      if (i < rows) pair[r] = map.row(i);
    }
#pragma unroll
    for (unsigned r = 0; r < R; ++r) {
      value[r] = T{};
      if (lane < accesses && pair[r].src != nullptr && pair[r].dst != nullptr) {
        value[r] = reinterpret_cast<const T*>(pair[r].src)[lane];
      }
    }
#pragma unroll
    for (unsigned r = 0; r < R; ++r) {
      const std::size_t i = first + r * groups;
      if (i >= rows) continue;
      if (lane < accesses && pair[r].dst != nullptr) reinterpret_cast<T*>(pair[r].dst)[lane] = value[r];
      if (lane == 0) {
        if (pair[r].bad) map.report(i);
        if (pair[r].hit) {
          ++hits;
        } else if (!pair[r].bad && pair[r].dst != nullptr) {
          ++misses;
        }
      }
    }
  }
  flush_hits(map, hits, misses);
}

/// Warp shape: a warp per row (rows up to warp_row_limit_bytes).
template <class Mapping>
__global__ void __launch_bounds__(row_copy_block_threads, row_copy_blocks_per_sm)
    copy_rows_warp(Mapping map, std::size_t rows, std::size_t row_bytes) {
  const unsigned lane = threadIdx.x & 31u;
  const std::size_t warp = (static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const std::size_t warps = (static_cast<std::size_t>(gridDim.x) * blockDim.x) >> 5;
  unsigned hits = 0;
  unsigned misses = 0;
  for (std::size_t i = warp; i < rows; i += warps) {
    const RowPair pair = map.row(i);
    if (pair.dst != nullptr) warp_copy(pair.dst, pair.src, row_bytes, lane);
    if (lane == 0) {
      if (pair.bad) map.report(i);
      if (pair.hit) {
        ++hits;
      } else if (!pair.bad && pair.dst != nullptr) {
        ++misses;
      }
    }
  }
  flush_hits(map, hits, misses);
}

/// Block shape: a block per block_slice_bytes slice of a row, each warp a 64-byte-aligned part of the slice.
template <class Mapping>
__global__ void __launch_bounds__(row_copy_block_threads, row_copy_blocks_per_sm)
    copy_rows_block(Mapping map, std::size_t rows, std::size_t row_bytes) {
  const unsigned lane = threadIdx.x & 31u;
  const unsigned warp = threadIdx.x >> 5;
  const unsigned warps = blockDim.x >> 5;
  const std::size_t slices = (row_bytes + block_slice_bytes - 1) / block_slice_bytes;
  unsigned hits = 0;
  unsigned misses = 0;
  for (std::size_t unit = blockIdx.x; unit < rows * slices; unit += gridDim.x) {
    const std::size_t i = unit / slices;
    const std::size_t slice = unit % slices;
    const std::size_t slice_begin = slice * block_slice_bytes;
    const std::size_t slice_end =
        slice_begin + block_slice_bytes < row_bytes ? slice_begin + block_slice_bytes : row_bytes;
    const std::size_t part = (((slice_end - slice_begin + warps - 1) / warps) + 63) & ~std::size_t{63};
    const std::size_t begin = slice_begin + warp * part < slice_end ? slice_begin + warp * part : slice_end;
    const std::size_t end = begin + part < slice_end ? begin + part : slice_end;
    const RowPair pair = map.row(i);
    if (pair.dst != nullptr && begin < end) {
      warp_copy(pair.dst + begin, pair.src != nullptr ? pair.src + begin : nullptr, end - begin, lane);
    }
    if (threadIdx.x == 0 && slice == 0) {
      if (pair.bad) map.report(i);
      if (pair.hit) {
        ++hits;
      } else if (!pair.bad && pair.dst != nullptr) {
        ++misses;
      }
    }
  }
  flush_hits(map, hits, misses);
}

/// Launches the kernel of `plan` (from plan_row_copy) for `rows` rows of `row_bytes`; `name` (a literal)
/// names it in a launch error. Nothing is launched when the plan has no blocks.
template <class Mapping>
void launch_row_copy(const RowCopyPlan& plan, const Mapping& map, std::size_t rows, std::size_t row_bytes,
                     cudaStream_t stream, const char* name) {
  if (plan.grid_blocks == 0 || rows == 0) return;
  const dim3 grid(plan.grid_blocks);
  const dim3 block(plan.block_threads);
  switch (plan.shape) {
    case RowCopyShape::thread_per_row:
    case RowCopyShape::group_per_row: {
      const unsigned lanes_log2 = static_cast<unsigned>(std::countr_zero(plan.lanes_per_row));
      switch (plan.access_bytes) {
        case 16: copy_rows_grouped<16><<<grid, block, 0, stream>>>(map, rows, plan.accesses_per_row, lanes_log2); break;
        case 8: copy_rows_grouped<8><<<grid, block, 0, stream>>>(map, rows, plan.accesses_per_row, lanes_log2); break;
        case 4: copy_rows_grouped<4><<<grid, block, 0, stream>>>(map, rows, plan.accesses_per_row, lanes_log2); break;
        case 2: copy_rows_grouped<2><<<grid, block, 0, stream>>>(map, rows, plan.accesses_per_row, lanes_log2); break;
        default: copy_rows_grouped<1><<<grid, block, 0, stream>>>(map, rows, plan.accesses_per_row, lanes_log2); break;
      }
      break;
    }
    case RowCopyShape::warp_per_row: copy_rows_warp<<<grid, block, 0, stream>>>(map, rows, row_bytes); break;
    case RowCopyShape::block_per_row: copy_rows_block<<<grid, block, 0, stream>>>(map, rows, row_bytes); break;
  }
  check_cuda(cudaGetLastError(), name, __FILE__, __LINE__);
}

}  // namespace ghtier::detail
