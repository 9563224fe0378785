// ActivationHostArena: a RangeAllocator over one block reserved at construction.
#include "workloads/activation_offload/activation_host_arena.hpp"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {
constexpr double gib = 1024.0 * 1024.0 * 1024.0;
}

ActivationHostArena::ActivationHostArena(Buffer block) : block_(std::move(block)) {
  if (block_.empty()) throw_error(ErrorCode::invalid_argument, "activation host arena: the host block is empty");
  base_ = block_.data();
  capacity_ = block_.size() / granule * granule;
  ranges_.add_range(base_, capacity_);
}

ActivationHostArena::ActivationHostArena(void* base, std::size_t bytes)
    : base_(base), capacity_(bytes / granule * granule) {
  if (base == nullptr || capacity_ == 0) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("activation host arena: needs a block of at least {} bytes, got {}", granule, bytes));
  }
  ranges_.add_range(base_, capacity_);
}

void* ActivationHostArena::try_allocate(std::size_t bytes) noexcept {
  if (bytes == 0 || bytes > capacity_) return nullptr;
  void* p = nullptr;
  try {
    p = ranges_.allocate(bytes, granule);
  } catch (...) {
    return nullptr;
  }
  if (p != nullptr) peak_ = std::max(peak_, ranges_.used_bytes());
  return p;
}

void* ActivationHostArena::allocate(std::size_t bytes) {
  if (bytes == 0) throw_error(ErrorCode::invalid_argument, "activation host arena: a block of 0 bytes");
  if (void* p = try_allocate(bytes)) return p;
  throw_error(ErrorCode::out_of_budget,
              fmt::format("activation host arena is full: offloading {} bytes needs a free block of that size, but "
                          "the arena's budget of {} bytes ({:.2f} GiB) has {} bytes in use and its largest free block "
                          "is {} bytes; raise the host budget (host_arena_bytes) or offload fewer layers",
                          bytes, capacity_, static_cast<double>(capacity_) / gib, ranges_.used_bytes(),
                          ranges_.largest_free_block()));
}

bool ActivationHostArena::deallocate(void* p) noexcept { return ranges_.deallocate(p) != 0; }

bool ActivationHostArena::contains(const void* p, std::size_t bytes) const noexcept {
  const auto begin = reinterpret_cast<std::uintptr_t>(base_);
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  return at >= begin && bytes <= capacity_ && at - begin <= capacity_ - bytes;
}

}  // namespace ghtier::detail
