// for_each_packed_block: a warp's share of a bit-packed column (grid-stride over blocks) with the loads of
// the next block in flight while the caller works on the current one. for_each_packed_row waits for a
// block's header, then for its words, then runs the caller on 32 values, then starts the next block's loads:
// fine when the per-block work is short (an aggregate), but a kernel with long per-block work (the join
// probe walks a hash table for 1024 keys) then leaves the link idle for most of each block. Here the next
// block's words and the header after it are requested before the current block is handed over, so a warp
// always has loads over the link while it works, and no header round trip waits in front of its words.
// The current block's values land in shared memory as deltas (value - reference), lane l's entry i at
// [32 i + l] of the warp's slice (bank l: conflict-free), so the caller may take a lane's entries in any
// order (one key per lane at a time, each lane at its own pace). Device code only.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "cuda/bitpack_decode.cuh"
#include "cuda/packed_block_layout.hpp"
#include "cuda/scan_args.hpp"
#include "ghtier/kernels/bitpacked_column.hpp"

namespace ghtier::detail {

/// What for_each_packed_block hands over: a block whose deltas are staged.
struct StagedPackedBlock {
  std::uint64_t index = 0;           ///< the block's number in the column
  unsigned long long reference = 0;  ///< value = reference + delta (64-bit two's complement)
  std::uint32_t rows = 0;            ///< rows of the block that exist (1..1024); entries past them are padding
};

/// A block header as loaded (every lane reads the same 16 bytes: one broadcast transaction).
struct RawPackedHeader {
  unsigned long long reference = 0;
  unsigned long long width_offset = 0;  ///< width in the low 32 bits, offset (units of 32 words) in the high
};

__device__ __forceinline__ RawPackedHeader load_packed_header(const PackedColumn& column, std::uint64_t block) {
  const auto* header = reinterpret_cast<const long long*>(column.blocks + block);
  return {static_cast<unsigned long long>(__ldcs(header)), static_cast<unsigned long long>(__ldcs(header + 1))};
}

/// The lane's `width` words of a block (width <= 32, checked by the caller); words[width..31] keep their values.
__device__ __forceinline__ void load_lane_words(std::uint32_t width, const std::uint32_t* block_words, unsigned lane,
                                                std::uint32_t (&words)[bitpack_max_width]) {
#pragma unroll
  for (unsigned j = 0; j < bitpack_max_width; ++j) {
    if (j < width) words[j] = __ldcs(block_words + j * packed_lanes + lane);
  }
}

/// Calls fn(std::integral_constant<unsigned, W>{}) for W == width (0..32); nothing for a larger width.
template <unsigned W = 0, typename Fn>
__device__ __forceinline__ void with_packed_width(std::uint32_t width, Fn&& fn) {
  if constexpr (W <= bitpack_max_width) {
    if (width == W) {
      fn(std::integral_constant<unsigned, W>{});
      return;
    }
    with_packed_width<W + 1>(width, fn);
  }
}

/// Writes the lane's 32 entries, decoded from its words, to lane_staged[32 * i] (i = 0..31).
__device__ __forceinline__ void stage_lane_entries(std::uint32_t width, const std::uint32_t (&words)[bitpack_max_width],
                                                   std::uint32_t* lane_staged) {
  with_packed_width(width, [&](auto width_tag) {
    constexpr unsigned Width = decltype(width_tag)::value;
#pragma unroll
    for (unsigned i = 0; i < packed_lanes; ++i) lane_staged[i * packed_lanes] = lane_entry<Width>(words, i);
  });
}

/// Calls on_block(const StagedPackedBlock&) for each block of the column that this warp owns (blocks
/// warp, warp + warps, ...), after its deltas are in warp_staged[0, 1024) (this warp's slice of shared
/// memory: lane l writes and may read only the entries [32 i + l]). Every lane of a warp makes the same
/// calls, so on_block may use warp-wide primitives with the full mask. A block whose header is out of bounds
/// (width > 32, or words past word_count) is neither read nor handed over; the lowest such block is recorded
/// with atomicMin in *first_bad_block (initialised to ~0 by the caller), as for_each_packed_row does.
/// The grid's block size must be a multiple of 32.
template <typename OnBlock>
__device__ __forceinline__ void for_each_packed_block(const PackedColumn& column, unsigned long long* first_bad_block,
                                                      std::uint32_t* warp_staged, OnBlock& on_block) {
  const unsigned lane = threadIdx.x & (packed_lanes - 1);
  const std::uint64_t warps = static_cast<std::uint64_t>(gridDim.x) * blockDim.x / packed_lanes;
  std::uint64_t block = (static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / packed_lanes;
  if (block >= column.block_count) return;  // warp-uniform

  auto width_of = [](const RawPackedHeader& h) { return static_cast<std::uint32_t>(h.width_offset & 0xffffffffu); };
  auto first_word_of = [](const RawPackedHeader& h) { return (h.width_offset >> 32) * packed_lanes; };
  auto in_bounds = [&](const RawPackedHeader& h) {
    return packed_block_in_bounds(width_of(h), first_word_of(h), column.word_count);
  };

  // One set of word registers: a block's words are decoded into shared memory before the next block's
  // loads reuse them, so the loads stay in flight through the caller's work at no extra registers.
  std::uint32_t words[bitpack_max_width] = {};
  RawPackedHeader current = load_packed_header(column, block);
  bool current_ok = in_bounds(current);
  if (current_ok) load_lane_words(width_of(current), column.words + first_word_of(current), lane, words);
  std::uint64_t next = block + warps;
  RawPackedHeader next_header = next < column.block_count ? load_packed_header(column, next) : RawPackedHeader{};
  for (;;) {
    if (current_ok) stage_lane_entries(width_of(current), words, warp_staged + lane);
    const bool has_next = next < column.block_count;
    const bool next_ok = has_next && in_bounds(next_header);
    if (next_ok) load_lane_words(width_of(next_header), column.words + first_word_of(next_header), lane, words);
    const std::uint64_t after = next + warps;
    const RawPackedHeader after_header =
        after < column.block_count ? load_packed_header(column, after) : RawPackedHeader{};
    if (current_ok) {
      on_block(StagedPackedBlock{block, current.reference, packed_block_rows(column.rows, block)});
    } else if (lane == 0) {
      atomicMin(first_bad_block, static_cast<unsigned long long>(block));
    }
    if (!has_next) break;
    block = next;
    current = next_header;
    current_ok = next_ok;
    next = after;
    next_header = after_header;
  }
}

}  // namespace ghtier::detail
