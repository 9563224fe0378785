// probe_staged_block: the packed join probe's walk over one staged block (for_each_packed_block hands the
// blocks over), each lane taking its keys at its own pace. Device code only: include from .cu files.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/column_scan.cuh"
#include "cuda/hash_join_kernels.hpp"
#include "cuda/hash_probe_steps.cuh"
#include "cuda/hash_table_slots.hpp"
#include "cuda/packed_block_layout.hpp"
#include "cuda/packed_block_stream.cuh"
#include "cuda/warp_reduce.cuh"

namespace ghtier::detail {

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

}  // namespace ghtier::detail
