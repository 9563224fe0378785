// RowSlotTable: the map from a cached row's id to its slot in a RowCache, an open-addressing hash table
// (linear probing, at most half full) built on the host and probed by the gather kernel on the GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#if defined(__CUDACC__)
#define GHTIER_ROW_SLOT_HD __host__ __device__
#else
#define GHTIER_ROW_SLOT_HD
#endif

namespace ghtier::detail {

/// One bucket: row < 0 marks an empty one. 16 bytes, so that a probe is one 16-byte load.
struct alignas(16) RowSlotEntry {
  std::int64_t row = -1;
  std::int64_t slot = -1;
};

/// A 64-bit mix (splitmix64's finaliser): row ids of hot rows are often clustered, and linear probing
/// needs them spread over the buckets.
GHTIER_ROW_SLOT_HD inline std::uint64_t row_slot_hash(std::uint64_t row) {
  row ^= row >> 30;
  row *= 0xbf58476d1ce4e5b9ull;
  row ^= row >> 27;
  row *= 0x94d049bb133111ebull;
  row ^= row >> 31;
  return row;
}

/// Buckets for `rows` entries: the smallest power of two at least twice as many (at least 2), so that a
/// probe always ends at an empty bucket and takes about 1.5 loads on average.
[[nodiscard]] std::size_t row_slot_capacity(std::size_t rows) noexcept;

/// Buckets mapping rows[i] -> i. Throws Error(invalid_argument) naming a negative or repeated row id.
[[nodiscard]] std::vector<RowSlotEntry> build_row_slot_table(std::span<const std::int64_t> rows);

/// The slot of `row`, or -1 when it is not in the table (the host twin of the kernel's probe).
[[nodiscard]] std::int64_t find_row_slot(std::span<const RowSlotEntry> table, std::int64_t row) noexcept;

}  // namespace ghtier::detail
