// Copy argument checks; each error names the argument, its value and the limit it broke.
#include "engine/copy_validation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {

std::uintptr_t address_of(const void* p) noexcept { return reinterpret_cast<std::uintptr_t>(p); }

void require_no_wrap(const void* p, std::size_t bytes, const char* what, const char* name) {
  require_plausible_size(bytes, what);
  if (bytes > std::numeric_limits<std::uintptr_t>::max() - address_of(p)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: {} = {} with {} bytes wraps around the address space", what, name, p, bytes));
  }
}

void require_within_allocation(const void* p, std::size_t bytes, const AllocationLookup* lookup, const char* what,
                               const char* name) {
  if (lookup == nullptr || bytes == 0) return;
  const std::optional<AllocationRecord> record = lookup->find(p);
  if (!record) return;  // not ghtier's: nothing to check against
  const std::uintptr_t base = address_of(record->base);
  const std::uintptr_t offset = address_of(p) - base;
  if (offset > record->bytes || bytes > record->bytes - offset) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: {} = {} with {} bytes runs {} bytes past the end of its allocation ({} bytes of {} "
                            "memory at {}{}{})",
                            what, name, p, bytes, offset + bytes - record->bytes, record->bytes,
                            to_string(record->mode), record->base, record->tag.empty() ? "" : ", tag ", record->tag));
  }
}

}  // namespace

void require_plausible_size(std::size_t bytes, const char* what) {
  if (bytes > max_transfer_bytes) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: {} bytes is more than any address space holds (the limit is {} bytes, 2^48, "
                            "ghtier::max_transfer_bytes): a size computed from a wrapped or uninitialised value?",
                            what, bytes, max_transfer_bytes));
  }
}

std::size_t batch_total_bytes(std::span<const BatchCopyItem> items) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::size_t bytes = items[i].bytes;
    // Each term is at most 2^48 once checked, so the sum cannot wrap before it passes the limit.
    if (bytes > max_transfer_bytes || total + bytes > max_transfer_bytes) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("BatchCopyRequest: item {} ({} bytes) brings the batch to more than {} bytes (2^48, "
                              "ghtier::max_transfer_bytes), more than any address space holds",
                              i, bytes, max_transfer_bytes));
    }
    total += bytes;
  }
  return total;
}

void validate_range(const void* ptr, std::size_t bytes, const AllocationLookup* lookup, const char* what) {
  if (ptr == nullptr) throw_error(ErrorCode::invalid_argument, fmt::format("{}: ptr is null", what));
  require_no_wrap(ptr, bytes, what, "ptr");
  require_within_allocation(ptr, bytes, lookup, what, "ptr");
}

void validate_copy(const void* dst, const void* src, std::size_t bytes, const AllocationLookup* lookup,
                   const char* what) {
  if (dst == nullptr) throw_error(ErrorCode::invalid_argument, fmt::format("{}: dst is null", what));
  if (src == nullptr) throw_error(ErrorCode::invalid_argument, fmt::format("{}: src is null", what));
  require_no_wrap(dst, bytes, what, "dst");
  require_no_wrap(src, bytes, what, "src");
  if (bytes == 0) return;
  const std::uintptr_t d = address_of(dst);
  const std::uintptr_t s = address_of(src);
  if (d < s + bytes && s < d + bytes) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: source [{}, +{}) and destination [{}, +{}) overlap", what, src, bytes, dst, bytes));
  }
  require_within_allocation(dst, bytes, lookup, what, "dst");
  require_within_allocation(src, bytes, lookup, what, "src");
}

void validate_batch(std::span<const BatchCopyItem> items, const AllocationLookup* lookup) {
  if (items.empty()) throw_error(ErrorCode::invalid_argument, "BatchCopyRequest: the batch has no items");
  (void)batch_total_bytes(items);
  // The item's name is formatted only when it is refused: a batch of 10,000 KV blocks would otherwise spend
  // more time naming items than copying them.
  for (std::size_t i = 0; i < items.size(); ++i) {
    try {
      validate_copy(items[i].dst, items[i].src, items[i].bytes, lookup, "BatchCopyRequest item");
    } catch (const Error& e) {
      const std::string_view message = e.what();
      constexpr std::string_view prefix = "BatchCopyRequest item";
      throw_error(e.code(),
                  fmt::format("BatchCopyRequest item {}{}", i,
                              message.starts_with(prefix) ? message.substr(prefix.size()) : message),
                  e.cuda_status());
    }
  }
  // Destination ranges sorted by address: any overlap shows between neighbours. Batches usually come with
  // ascending destinations (a gather into one buffer): then the items are checked in place, with no sorted
  // copy (a large temporary costs page faults, which are slow under some hypervisors).
  const BatchCopyItem* previous = nullptr;
  std::size_t previous_index = 0;
  bool ascending = true;
  for (std::size_t i = 0; i < items.size() && ascending; ++i) {
    if (items[i].bytes == 0) continue;
    if (previous != nullptr) {
      if (address_of(items[i].dst) < address_of(previous->dst)) {
        ascending = false;
        break;
      }
      if (address_of(previous->dst) + previous->bytes > address_of(items[i].dst)) {
        throw_error(ErrorCode::invalid_argument,
                    fmt::format("BatchCopyRequest: items {} and {} write overlapping destinations ([{}, +{}) and "
                                "[{}, +{})); a batch runs its copies in no particular order",
                                previous_index, i, previous->dst, previous->bytes, items[i].dst, items[i].bytes));
      }
    }
    previous = &items[i];
    previous_index = i;
  }
  if (ascending) return;
  struct Range {
    std::uintptr_t begin;
    std::uintptr_t end;
    std::size_t index;
  };
  std::vector<Range> ranges;
  ranges.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].bytes > 0) ranges.push_back({address_of(items[i].dst), address_of(items[i].dst) + items[i].bytes, i});
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (std::size_t k = 1; k < ranges.size(); ++k) {
    const Range& before = ranges[k - 1];
    const Range& after = ranges[k];
    if (before.end > after.begin) {
      const BatchCopyItem& a = items[before.index];
      const BatchCopyItem& b = items[after.index];
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("BatchCopyRequest: items {} and {} write overlapping destinations ([{}, +{}) and [{}, "
                              "+{})); a batch runs its copies in no particular order",
                              before.index, after.index, a.dst, a.bytes, b.dst, b.bytes));
    }
  }
}

}  // namespace ghtier::detail
