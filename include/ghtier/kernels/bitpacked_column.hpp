// Bit-packed integer columns: frame of reference + bit width per block of 1024 values, packed on the CPU
// (pure C++) and decoded on the fly by the aggregate and join-probe kernels, so the link carries fewer bytes.
//
// Format (version 1). A column of `rows` int32 or int64 values is cut into blocks of 1024 values (the last
// one padded with zeros). Block b has a 16-byte header {reference, width, offset}: every value v of the
// block is stored as the unsigned width-bit number v - reference (width 0..32; reference = the block's
// minimum). The block's packed data are 32 * width 32-bit words starting at word 32 * offset of the word
// array (offset = the sum of the widths of the blocks before it, so blocks are contiguous and in order).
// Inside a block the values are dealt to 32 lanes: value 32 * i + l (i, l in 0..31) is the i-th entry of
// lane l, whose stream of 32 * width bits occupies the words j * 32 + l (j = 0..width-1); entry i sits at
// stream bits [i * width, (i + 1) * width), least significant bit first, and may straddle two words.
// A GPU warp so decodes one block with coalesced 128-byte loads, each lane 32 consecutive-by-32 values.
#pragma once

#include "ghtier/export.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ghtier/kernels/column_view.hpp"

namespace ghtier {

class MemoryResource;

/// Values per block.
inline constexpr std::uint32_t bitpack_block_values = 1024;
/// The widest packed value, in bits.
inline constexpr std::uint32_t bitpack_max_width = 32;
/// Version of the format described above.
inline constexpr std::uint32_t bitpack_format_version = 1;

/// One block's frame of reference. 16 bytes, so a header array is 16-byte aligned when its start is.
struct GHTIER_API BitpackBlockHeader {
  std::int64_t reference = 0;  ///< the block's minimum; value = reference + packed (as int64)
  std::uint32_t width = 0;     ///< bits per packed value, 0..32 (0: every value equals reference)
  std::uint32_t offset = 0;    ///< where the block's words start, in units of 32 words (128 bytes)
};
static_assert(sizeof(BitpackBlockHeader) == 16);

/// Non-owning view of a packed column in any GPU-reachable tier (typically pinned host memory).
struct GHTIER_API BitpackedColumnView {
  ColumnType value_type = ColumnType::int32;  ///< int32 or int64: the type of the decoded values
  std::uint64_t rows = 0;
  const BitpackBlockHeader* blocks = nullptr;  ///< block_count() headers
  const std::uint32_t* words = nullptr;        ///< word_count packed words
  std::uint64_t word_count = 0;

  /// ceil(rows / 1024), exact for every row count (no rounding-up addition that could wrap).
  [[nodiscard]] constexpr std::uint64_t block_count() const noexcept {
    return rows / bitpack_block_values + (rows % bitpack_block_values != 0 ? 1 : 0);
  }
  /// Bytes a full read moves: the headers plus the words (what crosses the link).
  [[nodiscard]] constexpr std::uint64_t packed_bytes() const noexcept {
    return block_count() * sizeof(BitpackBlockHeader) + word_count * sizeof(std::uint32_t);
  }
  /// Bytes of the same column unpacked (rows * value size).
  [[nodiscard]] constexpr std::uint64_t logical_bytes() const noexcept { return rows * value_bytes(value_type); }
};

/// The first pass of packing: every block's header and the size of the word array.
struct GHTIER_API BitpackPlan {
  ColumnType value_type = ColumnType::int32;
  std::uint64_t rows = 0;
  std::vector<BitpackBlockHeader> blocks;
  std::uint64_t word_count = 0;

  /// Bytes of the packed column (headers + words).
  [[nodiscard]] std::uint64_t packed_bytes() const noexcept {
    return blocks.size() * sizeof(BitpackBlockHeader) + word_count * sizeof(std::uint32_t);
  }
};

/// Plans the packing of int32_t or int64_t values: per block the minimum and the bit width of the range.
/// Pure; uses several CPU threads for large columns. Throws Error(invalid_argument) when an int64 block's
/// range (max - min) does not fit 32 bits (naming the block and its range), or when the column is too long
/// for the format (the word offsets would pass 2^32 units).
template <typename T>
[[nodiscard]] GHTIER_API BitpackPlan plan_bitpack(std::span<const T> values);

/// Second pass: writes plan.blocks into `blocks_out` and the packed words into `words_out` (CPU-writable
/// memory of at least plan.blocks.size() headers and plan.word_count words: pinned host memory, so that
/// the GPU can read it in place) and returns the view of them. Throws Error(invalid_argument) if the plan
/// is not the plan of `values` (type, rows) or an output is too small.
template <typename T>
GHTIER_API BitpackedColumnView bitpack_into(std::span<const T> values, const BitpackPlan& plan,
                                            std::span<BitpackBlockHeader> blocks_out,
                                            std::span<std::uint32_t> words_out);

/// Checks a packed column against the format: value type int32/int64, a header for every block, widths
/// 0..32, offsets contiguous and in order, the word count equal to the end of the last block, int32
/// references within int32. The headers must be CPU-readable (not device memory). Throws
/// Error(invalid_argument) naming the first block that breaks a rule and how.
GHTIER_API void validate(const BitpackedColumnView& column);

/// Decodes on the CPU (the reference decoder): out.size() must equal column.rows and T the value type.
/// Validates the column first. Throws Error(invalid_argument).
template <typename T>
GHTIER_API void unpack(const BitpackedColumnView& column, std::span<T> out);

/// A packed column that owns its headers and words, allocated from a MemoryResource (pinned host memory
/// for GPU reads over the link, device memory for a copy in HBM, system memory for the CPU only).
class GHTIER_API BitpackedColumn {
 public:
  /// Plans, allocates from `storage` (which must outlive the column) and packs. Throws what plan_bitpack
  /// and storage.allocate throw.
  template <typename T>
  [[nodiscard]] static BitpackedColumn pack(std::span<const T> values, MemoryResource& storage);

  BitpackedColumn(BitpackedColumn&& other) noexcept;
  BitpackedColumn& operator=(BitpackedColumn&& other) noexcept;
  BitpackedColumn(const BitpackedColumn&) = delete;
  BitpackedColumn& operator=(const BitpackedColumn&) = delete;
  /// Returns the memory to the resource.
  ~BitpackedColumn();

  [[nodiscard]] const BitpackedColumnView& view() const noexcept { return view_; }

 private:
  BitpackedColumn() = default;
  void release() noexcept;

  MemoryResource* storage_ = nullptr;
  void* memory_ = nullptr;  // headers, then (16-byte aligned) words
  std::size_t bytes_ = 0;
  BitpackedColumnView view_;
};

}  // namespace ghtier
