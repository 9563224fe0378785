// AggregateSlots: the device-memory accumulators of an aggregate (one group) or a group-by (one per group),
// as arrays of 64-bit words that the kernels update with atomics. Shared by the host code and the kernels.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ghtier::detail {

/// status[] entries after the per-group arrays.
inline constexpr std::size_t status_rows_out_of_range = 0;  ///< group-by rows with a key outside [0, groups)
inline constexpr std::size_t status_first_bad_block = 1;    ///< packed input: lowest bad block; ~0 when none
inline constexpr std::size_t aggregate_status_words = 2;

/// Per group g: count[g]; sum[g] (int64 two's complement for integer values, double bits for floating
/// point); min_key[g] and max_key[g] (ordered_key of the extreme values: ~0 and 0 while no value came).
struct AggregateSlots {
  unsigned long long* count = nullptr;
  unsigned long long* sum = nullptr;
  unsigned long long* min_key = nullptr;
  unsigned long long* max_key = nullptr;
  unsigned long long* status = nullptr;
  std::uint32_t groups = 0;
};

/// Bytes of the slots of `groups` groups (8-byte aligned).
[[nodiscard]] constexpr std::size_t aggregate_slots_bytes(std::uint32_t groups) noexcept {
  return (4 * static_cast<std::size_t>(groups) + aggregate_status_words) * sizeof(unsigned long long);
}

/// Lays the slots out in `memory` (aggregate_slots_bytes(groups), 8-byte aligned): the four arrays, then
/// status, so that status and whatever follows the slots can be copied back together.
[[nodiscard]] inline AggregateSlots carve_aggregate_slots(void* memory, std::uint32_t groups) noexcept {
  auto* words = static_cast<unsigned long long*>(memory);
  AggregateSlots slots;
  slots.groups = groups;
  slots.count = words;
  slots.sum = words + groups;
  slots.min_key = words + 2 * static_cast<std::size_t>(groups);
  slots.max_key = words + 3 * static_cast<std::size_t>(groups);
  slots.status = words + 4 * static_cast<std::size_t>(groups);
  return slots;
}

}  // namespace ghtier::detail
