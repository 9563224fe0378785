// The hash-join kernels: an insert per build row (atomicCAS on the slot's row id, linear probing) and a
// probe per probe row that walks the key's run of slots until a free one, the matching pairs of a warp
// appended with one atomic. Probe keys stream in (plain or bit-packed). The plain probe walks one key per
// lane in step with its warp; the packed probe lets each lane walk its keys at its own pace (below).
#include "cuda/hash_join_kernels.hpp"

#include <cstdint>
#include <string>
#include <type_traits>

#include "core/support/cuda_check.hpp"
#include "cuda/bitpack_decode.cuh"
#include "cuda/column_scan.cuh"
#include "cuda/hash_table_slots.hpp"
#include "cuda/packed_block_layout.hpp"
#include "cuda/packed_block_stream.cuh"
#include "cuda/resident_grid.cuh"
#include "cuda/warp_reduce.cuh"
#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {

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

template <typename P>
__device__ __forceinline__ unsigned long long payload_bits(P value) {
  if constexpr (std::is_floating_point_v<P>) {
    return static_cast<unsigned long long>(__double_as_longlong(static_cast<double>(value)));
  } else {
    return static_cast<unsigned long long>(static_cast<std::int64_t>(value));
  }
}

// K: key type; P: payload column type or NoColumn.
template <typename K, typename P>
__global__ void __launch_bounds__(scan_block_threads)
    build_kernel(ScanColumn keys, ScanColumn payload, ScanShape shape, HashTableView table) {
  using Slot = SlotOf<K>;
  auto* slots = static_cast<Slot*>(table.slots);
  auto* payloads = static_cast<unsigned long long*>(table.payloads);
  const std::uint64_t mask = table.capacity - 1;
  auto visit = [&](bool valid, std::uint64_t row, K key, P value, NoColumn) {
    if (!valid) return;
    std::uint64_t slot = home_slot(static_cast<std::int64_t>(key), table.capacity);
    // Terminates: the table has more slots than rows. Every row gets a slot of its own (duplicates too).
    while (atomicCAS(&slots[slot].row, empty_row, static_cast<std::uint32_t>(row)) != empty_row) {
      slot = (slot + 1) & mask;
    }
    slots[slot].key = key;
    if constexpr (!std::is_same_v<P, NoColumn>) payloads[slot] = payload_bits(value);
  };
  ColumnIn<P> payload_column{};
  if constexpr (!std::is_same_v<P, NoColumn>) payload_column.data = static_cast<const P*>(payload.data);
  for_each_row(shape, ColumnIn<K>{static_cast<const K*>(keys.data)}, payload_column, ColumnIn<NoColumn>{}, visit);
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

// Probes one key per lane (active == false: none). The warp walks its lanes' runs together until every
// lane reached a free slot; called by every lane.
template <typename K, PayloadKind Payload>
__device__ __forceinline__ void probe_key(const HashTableView& table, bool active, std::uint64_t probe_row, K key,
                                          const JoinPairsOutput& pairs, JoinAccumulator* accumulator,
                                          JoinPartial<Payload>& partial) {
  using Slot = SlotOf<K>;
  const auto* slots = static_cast<const Slot*>(table.slots);
  const auto* payloads = static_cast<const unsigned long long*>(table.payloads);
  const std::uint64_t mask = table.capacity - 1;
  std::uint64_t slot = home_slot(static_cast<std::int64_t>(key), table.capacity);
  const bool want_pairs = pairs.pairs != nullptr;
  while (__any_sync(full_warp_mask, active)) {
    bool matched = false;
    std::uint32_t build_row = 0;
    if (active) {
      K slot_key;
      std::uint32_t slot_row;
      load_slot(slots + slot, slot_key, slot_row);
      if (slot_row == empty_row) {
        active = false;
      } else {
        if (slot_key == key) {
          matched = true;
          build_row = slot_row;
          ++partial.matches;
          if constexpr (Payload == PayloadKind::floating) {
            partial.sum += __longlong_as_double(static_cast<long long>(__ldg(payloads + slot)));
          } else if constexpr (Payload == PayloadKind::integer) {
            partial.sum += __ldg(payloads + slot);
          }
        }
        slot = (slot + 1) & mask;
      }
    }
    if (want_pairs) append_pairs(matched, probe_row, build_row, pairs, &accumulator->pairs_cursor);
  }
}

template <typename K, PayloadKind Payload>
__global__ void __launch_bounds__(scan_block_threads)
    probe_kernel(ScanColumn keys, ScanShape shape, HashTableView table, JoinPairsOutput pairs,
                 JoinAccumulator* accumulator) {
  JoinPartial<Payload> partial;
  auto visit = [&](bool valid, std::uint64_t row, K key, NoColumn, NoColumn) {
    probe_key<K, Payload>(table, valid, row, key, pairs, accumulator, partial);
  };
  for_each_row(shape, ColumnIn<K>{static_cast<const K*>(keys.data)}, ColumnIn<NoColumn>{}, ColumnIn<NoColumn>{}, visit);
  partial.flush(accumulator);
}

// The packed probe of the first release (kept for the benchmark's A/B): a warp per block, in turn waiting for
// the header, the words, then 32 warp-synchronous walks (each as long as the longest of its 32 lanes).
template <typename K, PayloadKind Payload>
__global__ void __launch_bounds__(scan_block_threads)
    warp_synchronous_packed_probe_kernel(PackedColumn keys, HashTableView table, JoinPairsOutput pairs,
                                         JoinAccumulator* accumulator) {
  JoinPartial<Payload> partial;
  auto visit = [&](bool valid, std::uint64_t row, K key) {
    probe_key<K, Payload>(table, valid, row, key, pairs, accumulator, partial);
  };
  for_each_packed_row<K>(keys, &accumulator->first_bad_block, visit);
  partial.flush(accumulator);
}

// One lane's walk along the run of one key at a time; a lane runs packed_probe_walks of them side by side
// (entries w, w + walks, ...), so each lane has that many independent slot loads in flight per step.
template <typename K>
struct KeyWalk {
  std::uint32_t next_entry = 0;  // the lane's next entry to start
  std::uint32_t entry = 0;       // the entry on its way (its row: block_row + 32 * entry + lane)
  bool walking = false;          // a key is on its way along its run
  K key{};
  std::uint64_t slot = 0;
};

// Probes the staged keys of one packed block. Each lane takes its entries one after another and starts
// the next key as soon as its walk reaches a free slot, so a step of the warp costs the work of its busiest
// lane over the whole block (about 32 * mean run length / walks steps), not the longest run of every one
// of 32 rounds. With StagedHomes the home slots are hashed first, every lane together, into warp_homes (so
// the walk loop, where lanes diverge, carries no hash); tables of more than 2^32 slots hash as a walk
// starts. Called by every lane; the loop is warp-uniform (__any_sync).
template <typename K, PayloadKind Payload, bool StagedHomes>
__device__ __forceinline__ void probe_staged_block(const HashTableView& table, const StagedPackedBlock& block,
                                                   const std::uint32_t* warp_staged, std::uint32_t* warp_homes,
                                                   const JoinPairsOutput& pairs, JoinAccumulator* accumulator,
                                                   JoinPartial<Payload>& partial) {
  using Slot = SlotOf<K>;
  const auto* slots = static_cast<const Slot*>(table.slots);
  const auto* payloads = static_cast<const unsigned long long*>(table.payloads);
  const std::uint64_t mask = table.capacity - 1;
  const bool want_pairs = pairs.pairs != nullptr;
  const unsigned lane = lane_id();
  const std::uint32_t entries = packed_lane_entries(block.rows, lane);
  const std::uint64_t block_row = block.index * bitpack_block_values;
  // reference + delta in 64-bit two's complement; an int32 column's values fit by construction.
  auto key_of = [&](std::uint32_t entry) {
    return static_cast<K>(static_cast<long long>(block.reference + warp_staged[entry * packed_lanes + lane]));
  };
  if constexpr (StagedHomes) {
#pragma unroll 4
    for (std::uint32_t entry = 0; entry < entries; ++entry) {
      warp_homes[entry * packed_lanes + lane] =
          static_cast<std::uint32_t>(home_slot(static_cast<std::int64_t>(key_of(entry)), table.capacity));
    }
  } else {
    (void)warp_homes;
  }
  KeyWalk<K> walks[packed_probe_walks];
#pragma unroll
  for (unsigned w = 0; w < packed_probe_walks; ++w) walks[w].next_entry = w;
  for (;;) {
    bool busy = false;
#pragma unroll
    for (unsigned w = 0; w < packed_probe_walks; ++w) {
      KeyWalk<K>& walk = walks[w];
      if (!walk.walking && walk.next_entry < entries) {
        walk.entry = walk.next_entry;
        walk.key = key_of(walk.entry);
        if constexpr (StagedHomes) {
          walk.slot = warp_homes[walk.entry * packed_lanes + lane];
        } else {
          walk.slot = home_slot(static_cast<std::int64_t>(walk.key), table.capacity);
        }
        walk.next_entry += packed_probe_walks;
        walk.walking = true;
      }
      busy = busy || walk.walking;
    }
    if (!__any_sync(full_warp_mask, busy)) break;
    // Every walk's slot load is issued before any is used.
    K slot_key[packed_probe_walks];
    std::uint32_t slot_row[packed_probe_walks];
#pragma unroll
    for (unsigned w = 0; w < packed_probe_walks; ++w) {
      slot_row[w] = empty_row;
      if (walks[w].walking) load_slot(slots + walks[w].slot, slot_key[w], slot_row[w]);
    }
#pragma unroll
    for (unsigned w = 0; w < packed_probe_walks; ++w) {
      KeyWalk<K>& walk = walks[w];
      bool matched = false;
      if (walk.walking) {
        if (slot_row[w] == empty_row) {
          walk.walking = false;
        } else {
          if (slot_key[w] == walk.key) {
            matched = true;
            ++partial.matches;
            if constexpr (Payload == PayloadKind::floating) {
              partial.sum += __longlong_as_double(static_cast<long long>(__ldg(payloads + walk.slot)));
            } else if constexpr (Payload == PayloadKind::integer) {
              partial.sum += __ldg(payloads + walk.slot);
            }
          }
          walk.slot = (walk.slot + 1) & mask;
        }
      }
      if (want_pairs) {
        const std::uint64_t row = block_row + static_cast<std::uint64_t>(walk.entry) * packed_lanes + lane;
        append_pairs(matched, row, slot_row[w], pairs, &accumulator->pairs_cursor);
      }
    }
  }
}

// The packed probe: each warp streams its blocks with the next one's loads in flight (for_each_packed_block)
// and probes the staged keys of the current one lane by lane (probe_staged_block).
template <typename K, PayloadKind Payload, bool StagedHomes>
__global__ void __launch_bounds__(packed_probe_block_threads, packed_probe_min_blocks_per_sm)
    packed_probe_kernel(PackedColumn keys, HashTableView table, JoinPairsOutput pairs, JoinAccumulator* accumulator) {
  constexpr unsigned warps = packed_probe_block_threads / packed_lanes;
  __shared__ std::uint32_t staged[warps * bitpack_block_values];
  __shared__ std::uint32_t homes[StagedHomes ? warps * bitpack_block_values : 1];
  const unsigned warp = threadIdx.x / packed_lanes;
  std::uint32_t* warp_staged = staged + warp * bitpack_block_values;
  std::uint32_t* warp_homes = StagedHomes ? homes + warp * bitpack_block_values : homes;
  JoinPartial<Payload> partial;
  auto on_block = [&](const StagedPackedBlock& block) {
    probe_staged_block<K, Payload, StagedHomes>(table, block, warp_staged, warp_homes, pairs, accumulator, partial);
  };
  for_each_packed_block(keys, &accumulator->first_bad_block, warp_staged, on_block);
  partial.flush(accumulator);
}

__global__ void join_init_kernel(JoinAccumulator* accumulator) {
  accumulator->matches = 0;
  accumulator->sum = 0;
  accumulator->pairs_cursor = 0;
  accumulator->first_bad_block = ~0ull;
}

__global__ void join_finalize_kernel(const JoinAccumulator* accumulator, PayloadKind payload, bool pairs_requested,
                                     std::uint64_t capacity, JoinResult* result) {
  JoinResult r;
  r.matches = accumulator->matches;
  if (payload == PayloadKind::floating) {
    r.payload_sum_float = __longlong_as_double(static_cast<long long>(accumulator->sum));
  } else if (payload == PayloadKind::integer) {
    r.payload_sum_int = static_cast<std::int64_t>(accumulator->sum);
    r.payload_sum_float = static_cast<double>(r.payload_sum_int);
  }
  if (pairs_requested) {
    const unsigned long long claimed = accumulator->pairs_cursor;
    r.pairs_written = claimed < capacity ? claimed : capacity;
    r.pairs_overflowed = claimed > capacity ? 1u : 0u;
  }
  *result = r;
}

template <typename Fn>
void with_payload_kind(PayloadKind payload, Fn&& fn) {
  switch (payload) {
    case PayloadKind::none: fn(std::integral_constant<PayloadKind, PayloadKind::none>{}); break;
    case PayloadKind::integer: fn(std::integral_constant<PayloadKind, PayloadKind::integer>{}); break;
    case PayloadKind::floating: fn(std::integral_constant<PayloadKind, PayloadKind::floating>{}); break;
  }
}

}  // namespace

void launch_hash_table_build(const ScanColumn& keys, const ScanColumn& payload, const ScanShape& shape,
                             const HashTableView& table, cudaStream_t stream) {
  auto run = [&](auto key_tag) {
    using K = decltype(key_tag);
    auto launch = [&](auto payload_tag) {
      using P = decltype(payload_tag);
      auto* kernel = build_kernel<K, P>;
      const unsigned blocks = resident_blocks(kernel, shape.grid.blocks, shape.grid.threads);
      kernel<<<blocks, shape.grid.threads, 0, stream>>>(keys, payload, shape, table);
    };
    if (payload.data == nullptr) {
      launch(NoColumn{});
      return;
    }
    switch (payload.type) {
      case ColumnType::int32: launch(std::int32_t{}); break;
      case ColumnType::int64: launch(std::int64_t{}); break;
      case ColumnType::float32: launch(float{}); break;
      case ColumnType::float64: launch(double{}); break;
    }
  };
  if (table.key_type == ColumnType::int64) {
    run(std::int64_t{});
  } else {
    run(std::int32_t{});
  }
  GHTIER_CUDA_CHECK_LAUNCH("build_kernel");
}

void launch_join_init(JoinAccumulator* accumulator, cudaStream_t stream) {
  join_init_kernel<<<1, 1, 0, stream>>>(accumulator);
  GHTIER_CUDA_CHECK_LAUNCH("join_init_kernel");
}

void launch_hash_join_probe(const ScanColumn& keys, const ScanShape& shape, const HashTableView& table,
                            const JoinPairsOutput& pairs, JoinAccumulator* accumulator, cudaStream_t stream) {
  with_payload_kind(table.payload, [&](auto payload_tag) {
    constexpr PayloadKind payload = decltype(payload_tag)::value;
    auto launch = [&](auto* kernel) {
      const unsigned blocks = resident_blocks(kernel, shape.grid.blocks, shape.grid.threads);
      kernel<<<blocks, shape.grid.threads, 0, stream>>>(keys, shape, table, pairs, accumulator);
    };
    if (table.key_type == ColumnType::int64) {
      launch(probe_kernel<std::int64_t, payload>);
    } else {
      launch(probe_kernel<std::int32_t, payload>);
    }
  });
  GHTIER_CUDA_CHECK_LAUNCH("probe_kernel");
}

void launch_packed_hash_join_probe(const PackedColumn& keys, const ScanGrid& grid, const HashTableView& table,
                                   const JoinPairsOutput& pairs, JoinAccumulator* accumulator, cudaStream_t stream,
                                   PackedProbeKernel which) {
  // The kernels deal blocks to whole warps, and the pipelined ones have shared memory for
  // packed_probe_block_threads threads.
  const unsigned most_threads =
      which == PackedProbeKernel::warp_synchronous ? scan_block_threads : packed_probe_block_threads;
  if (grid.threads == 0 || grid.threads % packed_lanes != 0 || grid.threads > most_threads) {
    throw_error(ErrorCode::internal, "launch_packed_hash_join_probe: " + std::to_string(grid.threads) +
                                         " threads a block; this packed probe kernel takes a multiple of 32 up to " +
                                         std::to_string(most_threads));
  }
  // Home slots of a table up to 2^32 slots fit the 32-bit staging.
  const bool staged_homes = which == PackedProbeKernel::pipelined && table.capacity <= (std::uint64_t{1} << 32);
  with_payload_kind(table.payload, [&](auto payload_tag) {
    constexpr PayloadKind payload = decltype(payload_tag)::value;
    auto launch = [&](auto* kernel) {
      const unsigned blocks = resident_blocks(kernel, grid.blocks, grid.threads);
      kernel<<<blocks, grid.threads, 0, stream>>>(keys, table, pairs, accumulator);
    };
    const bool wide = table.key_type == ColumnType::int64;
    if (which == PackedProbeKernel::warp_synchronous) {
      if (wide) {
        launch(warp_synchronous_packed_probe_kernel<std::int64_t, payload>);
      } else {
        launch(warp_synchronous_packed_probe_kernel<std::int32_t, payload>);
      }
      GHTIER_CUDA_CHECK_LAUNCH("warp_synchronous_packed_probe_kernel");
    } else if (staged_homes) {
      if (wide) {
        launch(packed_probe_kernel<std::int64_t, payload, true>);
      } else {
        launch(packed_probe_kernel<std::int32_t, payload, true>);
      }
      GHTIER_CUDA_CHECK_LAUNCH("packed_probe_kernel");
    } else {
      if (wide) {
        launch(packed_probe_kernel<std::int64_t, payload, false>);
      } else {
        launch(packed_probe_kernel<std::int32_t, payload, false>);
      }
      GHTIER_CUDA_CHECK_LAUNCH("packed_probe_kernel");
    }
  });
}

void launch_join_finalize(const JoinAccumulator* accumulator, PayloadKind payload, bool pairs_requested,
                          std::uint64_t capacity, JoinResult* result, cudaStream_t stream) {
  join_finalize_kernel<<<1, 1, 0, stream>>>(accumulator, payload, pairs_requested, capacity, result);
  GHTIER_CUDA_CHECK_LAUNCH("join_finalize_kernel");
}

}  // namespace ghtier::detail
