// The steps every hash-join probe kernel shares (plain and packed): the slot type of a key type, one
// aligned slot load, a thread's running matches and payload sum (flushed with one atomic per warp), and the
// append of a warp's matching pairs with one atomic. Device code only: include from .cu files.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "cuda/column_scan.cuh"
#include "cuda/hash_join_kernels.hpp"
#include "cuda/hash_table_slots.hpp"
#include "cuda/warp_reduce.cuh"

namespace ghtier::detail {

template <typename K>
using SlotOf = std::conditional_t<sizeof(K) == 4, HashSlot32, HashSlot64>;

// One aligned load of a slot (read-only during a probe: the non-coherent path is fine).
__device__ __forceinline__ void load_slot(const HashSlot32* slot, std::int32_t& key, std::uint32_t& row) {
  const uint2 v = __ldg(reinterpret_cast<const uint2*>(slot));
  key = static_cast<std::int32_t>(v.x);
  row = v.y;
}
__device__ __forceinline__ void load_slot(const HashSlot64* slot, std::int64_t& key, std::uint32_t& row) {
  const uint4 v = __ldg(reinterpret_cast<const uint4*>(slot));
  key = static_cast<std::int64_t>((static_cast<unsigned long long>(v.y) << 32) | v.x);
  row = v.z;
}

// One thread's matches and payload sum.
template <PayloadKind Payload>
struct JoinPartial {
  unsigned long long matches = 0;
  std::conditional_t<Payload == PayloadKind::floating, double, unsigned long long> sum = 0;

  __device__ __forceinline__ void flush(JoinAccumulator* accumulator) const {
    const unsigned long long total = warp_broadcast(warp_sum(matches));
    if (total == 0) return;  // warp-uniform (broadcast): the reduction below needs every lane
    const auto total_sum = warp_sum(sum);
    if (lane_id() == 0) {
      atomicAdd(&accumulator->matches, total);
      if constexpr (Payload == PayloadKind::floating) {
        atomicAdd(reinterpret_cast<double*>(&accumulator->sum), total_sum);
      } else if constexpr (Payload == PayloadKind::integer) {
        atomicAdd(&accumulator->sum, total_sum);
      }
    }
  }
};

// Appends one pair per lane whose `matched` is set: one atomic per warp. Called by every lane.
__device__ __forceinline__ void append_pairs(bool matched, std::uint64_t probe_row, std::uint32_t build_row,
                                             const JoinPairsOutput& pairs, unsigned long long* cursor) {
  const unsigned mask = __ballot_sync(full_warp_mask, matched);
  if (mask == 0) return;
  const int leader = __ffs(mask) - 1;
  const unsigned lane = lane_id();
  unsigned long long base = 0;
  if (static_cast<int>(lane) == leader) base = atomicAdd(cursor, static_cast<unsigned long long>(__popc(mask)));
  base = __shfl_sync(full_warp_mask, base, leader);
  if (matched) {
    const unsigned long long position = base + __popc(mask & ((1u << lane) - 1u));
    if (position < pairs.capacity) {
      pairs.pairs[position].probe_row = probe_row;
      pairs.pairs[position].build_row = build_row;
    }
  }
}

}  // namespace ghtier::detail
