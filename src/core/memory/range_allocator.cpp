// RangeAllocator: two indexes over the free blocks (by address for coalescing, by size for best fit).
#include "core/memory/range_allocator.hpp"

#include <fmt/format.h>

#include <iterator>

#include "core/memory/allocation_checks.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {
// Aligned requests first look at this many best-fit candidates before taking one that surely fits.
constexpr int aligned_candidates = 16;
}  // namespace

RangeAllocator::RangeAllocator(std::size_t granule) : granule_(granule) {
  if (!is_power_of_two(granule)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("RangeAllocator: granule = {} is not a power of two", granule));
  }
}

void RangeAllocator::add_range(void* base, std::size_t bytes) {
  const auto address = reinterpret_cast<Address>(base);
  const std::size_t size = bytes & ~(granule_ - 1);
  if (base == nullptr || (address & (granule_ - 1)) != 0) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("RangeAllocator::add_range: base {} is not aligned to the granule ({} bytes)", base, granule_));
  }
  if (size == 0) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("RangeAllocator::add_range: {} bytes is less than one granule ({} bytes)", bytes, granule_));
  }
  std::lock_guard lock(mutex_);
  const auto next = ranges_.lower_bound(address);
  const bool overlaps_next = next != ranges_.end() && next->first < address + size;
  const bool overlaps_previous = next != ranges_.begin() && std::prev(next)->first + std::prev(next)->second > address;
  if (overlaps_next || overlaps_previous) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("RangeAllocator::add_range: [{}, +{}) overlaps a range already added", base, size));
  }
  ranges_.emplace(address, size);
  insert_free(address, size);
  capacity_ += size;
}

bool RangeAllocator::remove_range(void* base) {
  const auto address = reinterpret_cast<Address>(base);
  std::lock_guard lock(mutex_);
  const auto range = ranges_.find(address);
  if (range == ranges_.end()) return false;
  // A range with no live block is exactly one free block (frees coalesce within a range).
  const auto block = free_by_address_.find(address);
  if (block == free_by_address_.end() || block->second != range->second) return false;
  erase_free(block);
  capacity_ -= range->second;
  ranges_.erase(range);
  return true;
}

void* RangeAllocator::allocate(std::size_t bytes, std::size_t alignment) {
  if (bytes == 0 || bytes > max_allocation_bytes || !is_power_of_two(alignment) || alignment > max_alignment) {
    return nullptr;
  }
  const std::size_t size = align_up(bytes, granule_);
  const std::size_t align = alignment < granule_ ? granule_ : alignment;
  std::lock_guard lock(mutex_);

  auto fits = [&](const std::pair<std::size_t, Address>& block) {
    const Address start = align_up(block.second, align);
    return start + size <= block.second + block.first;
  };
  auto chosen = free_by_size_.end();
  auto candidate = free_by_size_.lower_bound({size, 0});
  for (int looked = 0; candidate != free_by_size_.end() && looked < aligned_candidates; ++candidate, ++looked) {
    if (fits(*candidate)) {
      chosen = candidate;
      break;
    }
  }
  if (chosen == free_by_size_.end() && align > granule_) {
    // Any block this large has room for the worst-case head padding.
    chosen = free_by_size_.lower_bound({size + align - granule_, 0});
  }
  if (chosen == free_by_size_.end()) return nullptr;

  const Address block = chosen->second;
  const std::size_t block_bytes = chosen->first;
  erase_free(free_by_address_.find(block));
  const Address start = align_up(block, align);
  if (start > block) insert_free(block, start - block);
  const Address end = start + size;
  if (block + block_bytes > end) insert_free(end, block + block_bytes - end);
  live_.emplace(start, size);
  used_ += size;
  return reinterpret_cast<void*>(start);
}

std::size_t RangeAllocator::deallocate(void* p) noexcept {
  const auto address = reinterpret_cast<Address>(p);
  std::lock_guard lock(mutex_);
  const auto live = live_.find(address);
  if (live == live_.end()) return 0;
  const std::size_t size = live->second;
  live_.erase(live);
  used_ -= size;

  Address start = address;
  std::size_t merged = size;
  // Merge with the following free block unless it starts another range.
  const auto next = free_by_address_.find(address + size);
  if (next != free_by_address_.end() && !starts_range(next->first)) {
    merged += next->second;
    erase_free(next);
  }
  // Merge with the preceding free block when it ends here and this block does not start a range.
  if (!starts_range(address)) {
    const auto after = free_by_address_.lower_bound(address);
    if (after != free_by_address_.begin()) {
      const auto previous = std::prev(after);
      if (previous->first + previous->second == address) {
        start = previous->first;
        merged += previous->second;
        erase_free(previous);
      }
    }
  }
  // insert_free allocates map nodes; the erases above freed as many, so this cannot throw in practice, but a
  // noexcept function must not let bad_alloc escape: losing a free block is the lesser harm.
  try {
    insert_free(start, merged);
  } catch (...) {}
  return size;
}

std::size_t RangeAllocator::block_size(const void* p) const {
  std::lock_guard lock(mutex_);
  const auto live = live_.find(reinterpret_cast<Address>(p));
  return live == live_.end() ? 0 : live->second;
}

std::size_t RangeAllocator::capacity_bytes() const {
  std::lock_guard lock(mutex_);
  return capacity_;
}

std::size_t RangeAllocator::used_bytes() const {
  std::lock_guard lock(mutex_);
  return used_;
}

std::size_t RangeAllocator::free_bytes() const {
  std::lock_guard lock(mutex_);
  return capacity_ - used_;
}

std::size_t RangeAllocator::largest_free_block() const {
  std::lock_guard lock(mutex_);
  return free_by_size_.empty() ? 0 : free_by_size_.rbegin()->first;
}

std::size_t RangeAllocator::free_block_count() const {
  std::lock_guard lock(mutex_);
  return free_by_address_.size();
}

std::size_t RangeAllocator::live_block_count() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

std::size_t RangeAllocator::range_count() const {
  std::lock_guard lock(mutex_);
  return ranges_.size();
}

void RangeAllocator::insert_free(Address address, std::size_t bytes) {
  free_by_address_.emplace(address, bytes);
  free_by_size_.emplace(bytes, address);
}

void RangeAllocator::erase_free(std::map<Address, std::size_t>::iterator it) {
  free_by_size_.erase({it->second, it->first});
  free_by_address_.erase(it);
}

}  // namespace ghtier::detail
