// ActivationHostArena: the one exact-size host block that offloaded activations live in, reserved once and
// reused from step to step. Blocks are cut from it by a best-fit range allocator (256-byte granule, no
// power-of-two rounding), so a step allocates nothing from CUDA or the OS per tensor.
#pragma once

#include <cstddef>

#include "core/memory/range_allocator.hpp"
#include "ghtier/runtime/buffer.hpp"

namespace ghtier::detail {

class ActivationHostArena {
 public:
  static constexpr std::size_t granule = 256;

  /// An arena over a block the runtime allocated (the offloader uses pinned host memory); owns it.
  /// Throws Error(invalid_argument) for an empty block.
  explicit ActivationHostArena(Buffer block);
  /// An arena over memory the caller owns (tests); base must be 256-byte aligned.
  ActivationHostArena(void* base, std::size_t bytes);

  /// A block of `bytes` (rounded up to 256), or nullptr when no free block is that large.
  [[nodiscard]] void* try_allocate(std::size_t bytes) noexcept;
  /// As try_allocate, but throws Error(out_of_budget) naming the arena's size (the host budget), what is
  /// used, and the largest free block. Throws Error(invalid_argument) for zero bytes.
  [[nodiscard]] void* allocate(std::size_t bytes);
  /// Returns a block; a pointer that is not a live block is ignored (returns false).
  bool deallocate(void* p) noexcept;

  [[nodiscard]] std::size_t capacity_bytes() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t used_bytes() const { return ranges_.used_bytes(); }
  [[nodiscard]] std::size_t peak_used_bytes() const noexcept { return peak_; }
  [[nodiscard]] std::size_t largest_free_block() const { return ranges_.largest_free_block(); }
  [[nodiscard]] const void* base() const noexcept { return base_; }
  /// True if [p, p + bytes) lies inside the arena.
  [[nodiscard]] bool contains(const void* p, std::size_t bytes) const noexcept;

 private:
  Buffer block_;
  void* base_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t peak_ = 0;
  RangeAllocator ranges_{granule};
};

}  // namespace ghtier::detail
