// Decoding of bit-packed columns inside the kernels (format: include/ghtier/kernels/bitpacked_column.hpp). A warp
// decodes one block of 1024 values: each lane loads its `width` words (coalesced: the warp reads 128 bytes
// per load, all of them in flight at once) and unpacks 32 values with shifts fixed at compile time (one
// instantiation per width, picked by a warp-uniform switch). Device code only.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "cuda/packed_block_layout.hpp"
#include "cuda/scan_args.hpp"
#include "ghtier/kernels/bitpacked_column.hpp"

namespace ghtier::detail {

/// Entry i (0..31) of a lane whose Width words are words[0..Width-1]: bits [i * Width, (i + 1) * Width) of
/// its stream, least significant first, possibly straddling two words. With i known at compile time
/// (an unrolled loop) every shift is a constant.
template <unsigned Width>
__device__ __forceinline__ std::uint32_t lane_entry(const std::uint32_t (&words)[bitpack_max_width], unsigned i) {
  if constexpr (Width == 0) {
    (void)words, (void)i;
    return 0;
  } else {
    const unsigned bit = i * Width;
    const unsigned word = bit / 32;
    const unsigned shift = bit % 32;
    std::uint32_t value = words[word] >> shift;
    if (shift + Width > 32) value |= words[word + 1] << (32 - shift);
    if constexpr (Width < 32) value &= (1u << Width) - 1u;
    return value;
  }
}

/// Lane `lane`'s 32 packed values of one block whose words start at block_words.
template <unsigned Width>
__device__ __forceinline__ void unpack_lane_fixed(const std::uint32_t* block_words, unsigned lane,
                                                  std::uint32_t (&out)[32]) {
  std::uint32_t words[bitpack_max_width];
  if constexpr (Width == 0) {
    (void)block_words, (void)lane;
  } else {
#pragma unroll
    for (unsigned j = 0; j < Width; ++j) words[j] = __ldcs(block_words + j * 32 + lane);
  }
#pragma unroll
  for (unsigned i = 0; i < 32; ++i) out[i] = lane_entry<Width>(words, i);
}

/// unpack_lane_fixed for a width known at run time (0..32; the caller has checked it).
__device__ __forceinline__ void unpack_lane(unsigned width, const std::uint32_t* block_words, unsigned lane,
                                            std::uint32_t (&out)[32]) {
  switch (width) {
    case 0: unpack_lane_fixed<0>(block_words, lane, out); break;
    case 1: unpack_lane_fixed<1>(block_words, lane, out); break;
    case 2: unpack_lane_fixed<2>(block_words, lane, out); break;
    case 3: unpack_lane_fixed<3>(block_words, lane, out); break;
    case 4: unpack_lane_fixed<4>(block_words, lane, out); break;
    case 5: unpack_lane_fixed<5>(block_words, lane, out); break;
    case 6: unpack_lane_fixed<6>(block_words, lane, out); break;
    case 7: unpack_lane_fixed<7>(block_words, lane, out); break;
    case 8: unpack_lane_fixed<8>(block_words, lane, out); break;
    case 9: unpack_lane_fixed<9>(block_words, lane, out); break;
    case 10: unpack_lane_fixed<10>(block_words, lane, out); break;
    case 11: unpack_lane_fixed<11>(block_words, lane, out); break;
    case 12: unpack_lane_fixed<12>(block_words, lane, out); break;
    case 13: unpack_lane_fixed<13>(block_words, lane, out); break;
    case 14: unpack_lane_fixed<14>(block_words, lane, out); break;
    case 15: unpack_lane_fixed<15>(block_words, lane, out); break;
    case 16: unpack_lane_fixed<16>(block_words, lane, out); break;
    case 17: unpack_lane_fixed<17>(block_words, lane, out); break;
    case 18: unpack_lane_fixed<18>(block_words, lane, out); break;
    case 19: unpack_lane_fixed<19>(block_words, lane, out); break;
    case 20: unpack_lane_fixed<20>(block_words, lane, out); break;
    case 21: unpack_lane_fixed<21>(block_words, lane, out); break;
    case 22: unpack_lane_fixed<22>(block_words, lane, out); break;
    case 23: unpack_lane_fixed<23>(block_words, lane, out); break;
    case 24: unpack_lane_fixed<24>(block_words, lane, out); break;
    case 25: unpack_lane_fixed<25>(block_words, lane, out); break;
    case 26: unpack_lane_fixed<26>(block_words, lane, out); break;
    case 27: unpack_lane_fixed<27>(block_words, lane, out); break;
    case 28: unpack_lane_fixed<28>(block_words, lane, out); break;
    case 29: unpack_lane_fixed<29>(block_words, lane, out); break;
    case 30: unpack_lane_fixed<30>(block_words, lane, out); break;
    case 31: unpack_lane_fixed<31>(block_words, lane, out); break;
    case 32: unpack_lane_fixed<32>(block_words, lane, out); break;
    default: break;
  }
}

/// Calls visit(valid, row, value) for every row of a packed column: a warp per block (grid-stride over
/// blocks), each lane for rows block * 1024 + i * 32 + lane, i = 0..31, so every thread makes the same
/// number of calls per block and visit may use warp-wide primitives with the full mask. A block whose
/// header is out of bounds (width > 32, or words past word_count) is skipped and the lowest such block
/// is recorded with atomicMin in *first_bad_block (initialised to ~0 by the caller).
/// The grid's block size must be a multiple of 32.
template <typename V, typename Visit>
__device__ __forceinline__ void for_each_packed_row(const PackedColumn& column, unsigned long long* first_bad_block,
                                                    Visit& visit) {
  const unsigned lane = threadIdx.x & 31u;
  const std::uint64_t warp = (static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const std::uint64_t warps = static_cast<std::uint64_t>(gridDim.x) * blockDim.x / 32;
  for (std::uint64_t block = warp; block < column.block_count; block += warps) {
    // Every lane reads the same 16 bytes: one broadcast transaction.
    const auto* header = reinterpret_cast<const unsigned long long*>(column.blocks + block);
    const auto reference = static_cast<unsigned long long>(__ldcs(reinterpret_cast<const long long*>(header)));
    const auto width_offset = static_cast<unsigned long long>(__ldcs(reinterpret_cast<const long long*>(header) + 1));
    const auto width = static_cast<std::uint32_t>(width_offset & 0xffffffffu);
    const std::uint64_t first_word = (width_offset >> 32) * 32;
    if (!packed_block_in_bounds(width, first_word, column.word_count)) {
      if (lane == 0) atomicMin(first_bad_block, static_cast<unsigned long long>(block));
      continue;
    }
    std::uint32_t packed[32];
    unpack_lane(width, column.words + first_word, lane, packed);
    const std::uint64_t block_row = block * bitpack_block_values;
#pragma unroll
    for (unsigned i = 0; i < 32; ++i) {
      const std::uint64_t row = block_row + i * 32 + lane;
      // reference + packed in 64-bit two's complement; an int32 column's values fit by construction.
      const auto value = static_cast<V>(static_cast<long long>(reference + packed[i]));
      visit(row < column.rows, row, value);
    }
  }
}

}  // namespace ghtier::detail
