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
#include "cuda/hash_probe_steps.cuh"
#include "cuda/hash_table_slots.hpp"
#include "cuda/packed_block_layout.hpp"
#include "cuda/packed_block_stream.cuh"
#include "cuda/packed_probe_walk.cuh"
#include "cuda/resident_grid.cuh"
#include "cuda/warp_reduce.cuh"
#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {

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
  const bool staged_homes =
      which == PackedProbeKernel::pipelined_staged_homes && table.capacity <= (std::uint64_t{1} << 32);
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
