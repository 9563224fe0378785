// RangeAllocator: the pinned pool's sub-allocator, a best-fit free list with coalescing over address ranges
// it does not own. Pure CPU code with no CUDA, so its logic is tested in CI on a malloc'd arena.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

namespace ghtier::detail {

/// Hands out blocks of ranges added with add_range(). Block sizes and addresses are multiples of the
/// granule, so alignments up to the granule cost nothing; larger ones leave the skipped head as a free block.
/// Best fit by size (ties by lowest address); freed blocks merge with free neighbours of the same range
/// (never across ranges: two ranges may be adjacent in memory yet registered separately).
/// allocate: O(log n) for alignments up to the granule. Thread-safe (one mutex).
class RangeAllocator {
 public:
  /// `granule` must be a power of two (throws Error(invalid_argument) otherwise).
  explicit RangeAllocator(std::size_t granule = 256);

  /// Adds [base, base + bytes) to the free space. base must be granule aligned; bytes is rounded down to
  /// the granule. Throws Error(invalid_argument) for a misaligned base, a range below one granule, or one
  /// that overlaps a range already added.
  void add_range(void* base, std::size_t bytes);
  /// Removes the range that starts at `base` if none of it is allocated; false when it is in use or unknown.
  bool remove_range(void* base);

  /// A block of at least `bytes` aligned to `alignment` (a power of two), or nullptr when no free block
  /// fits. With alignment <= granule, nullptr means no free block has `bytes` (rounded to the granule);
  /// with a larger one, that none has bytes + alignment - granule.
  [[nodiscard]] void* allocate(std::size_t bytes, std::size_t alignment);
  /// Frees a block allocate() returned; returns its size, or 0 (and changes nothing) for a pointer that is
  /// not the start of a live block.
  std::size_t deallocate(void* p) noexcept;
  /// The size of the live block starting at p, or 0.
  [[nodiscard]] std::size_t block_size(const void* p) const;

  [[nodiscard]] std::size_t granule() const noexcept { return granule_; }
  [[nodiscard]] std::size_t capacity_bytes() const;  ///< all ranges
  [[nodiscard]] std::size_t used_bytes() const;      ///< live blocks (sizes rounded to the granule)
  [[nodiscard]] std::size_t free_bytes() const;
  [[nodiscard]] std::size_t largest_free_block() const;
  [[nodiscard]] std::size_t free_block_count() const;
  [[nodiscard]] std::size_t live_block_count() const;
  [[nodiscard]] std::size_t range_count() const;

 private:
  using Address = std::uintptr_t;
  void insert_free(Address address, std::size_t bytes);
  void erase_free(std::map<Address, std::size_t>::iterator it);
  [[nodiscard]] bool starts_range(Address address) const { return ranges_.count(address) != 0; }

  std::size_t granule_;
  mutable std::mutex mutex_;
  std::map<Address, std::size_t> ranges_;                   // base -> bytes
  std::map<Address, std::size_t> free_by_address_;          // free block start -> bytes
  std::set<std::pair<std::size_t, Address>> free_by_size_;  // (bytes, start): best fit is lower_bound
  std::unordered_map<Address, std::size_t> live_;           // live block start -> bytes
  std::size_t capacity_ = 0;
  std::size_t used_ = 0;
};

}  // namespace ghtier::detail
