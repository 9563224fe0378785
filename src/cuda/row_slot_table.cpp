// build_row_slot_table and its host-side probe: the RowCache's row id -> slot map.
#include "cuda/row_slot_table.hpp"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier::detail {

std::size_t row_slot_capacity(std::size_t rows) noexcept { return std::bit_ceil(std::max<std::size_t>(2, 2 * rows)); }

std::vector<RowSlotEntry> build_row_slot_table(std::span<const std::int64_t> rows) {
  std::vector<RowSlotEntry> table(row_slot_capacity(rows.size()));
  const std::uint64_t mask = table.size() - 1;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::int64_t row = rows[i];
    if (row < 0) throw_error(ErrorCode::invalid_argument, fmt::format("hot row {} is negative: {}", i, row));
    for (std::uint64_t h = row_slot_hash(static_cast<std::uint64_t>(row)) & mask;; h = (h + 1) & mask) {
      RowSlotEntry& entry = table[h];
      if (entry.row == row) {
        throw_error(ErrorCode::invalid_argument,
                    fmt::format("row id {} appears more than once among the hot rows", row));
      }
      if (entry.row < 0) {
        entry.row = row;
        entry.slot = static_cast<std::int64_t>(i);
        break;
      }
    }
  }
  return table;
}

std::int64_t find_row_slot(std::span<const RowSlotEntry> table, std::int64_t row) noexcept {
  if (table.empty() || row < 0) return -1;
  const std::uint64_t mask = table.size() - 1;
  for (std::uint64_t h = row_slot_hash(static_cast<std::uint64_t>(row)) & mask, probes = 0; probes < table.size();
       h = (h + 1) & mask, ++probes) {
    if (table[h].row == row) return table[h].slot;
    if (table[h].row < 0) return -1;
  }
  return -1;
}

}  // namespace ghtier::detail
