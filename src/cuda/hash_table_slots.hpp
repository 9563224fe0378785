// The slot layout and hash function of HashJoinTable, shared by the host code, the kernels and the CPU
// tests: a slot holds a key and the build row id (empty_row marks a free slot), 8 bytes for int32 keys and
// 16 for int64 keys, so that a probe step is one aligned load.
#pragma once

#include <cstdint>

#include "cuda/ordered_key.hpp"  // GHTIER_HOST_DEVICE

namespace ghtier::detail {

/// The row id of a free slot (the table is filled with 0xFF bytes).
inline constexpr std::uint32_t empty_row = 0xFFFFFFFFu;

struct alignas(8) HashSlot32 {
  std::int32_t key;
  std::uint32_t row;
};
struct alignas(16) HashSlot64 {
  std::int64_t key;
  std::uint32_t row;
  std::uint32_t unused;
};
static_assert(sizeof(HashSlot32) == 8 && sizeof(HashSlot64) == 16);

/// MurmurHash3's 64-bit finaliser: every key bit reaches every hash bit, so the low bits that pick the
/// slot are well mixed even for sequential keys.
GHTIER_HOST_DEVICE inline std::uint64_t hash_join_hash(std::uint64_t key) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  key *= 0xc4ceb9fe1a85ec53ull;
  key ^= key >> 33;
  return key;
}

/// The first slot of a key's run (capacity is a power of two). int32 and int64 keys of equal value hash
/// alike.
GHTIER_HOST_DEVICE inline std::uint64_t home_slot(std::int64_t key, std::uint64_t capacity) {
  return hash_join_hash(static_cast<std::uint64_t>(key)) & (capacity - 1);
}

}  // namespace ghtier::detail
