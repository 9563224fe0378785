// AlignedBlockMap: a mutex-guarded hash map; over-aligned allocations are rare, so contention is too.
#include "core/memory/aligned_block_map.hpp"

#include <cstdint>

#include "core/memory/allocation_checks.hpp"

namespace ghtier::detail {

void* AlignedBlockMap::align(void* raw, std::size_t alignment) noexcept {
  return reinterpret_cast<void*>(align_up(reinterpret_cast<std::uintptr_t>(raw), alignment));
}

void AlignedBlockMap::remember(void* aligned, void* raw) {
  std::lock_guard lock(mutex_);
  raw_of_[aligned] = raw;
}

void* AlignedBlockMap::take(void* aligned) noexcept {
  std::lock_guard lock(mutex_);
  const auto it = raw_of_.find(aligned);
  if (it == raw_of_.end()) return nullptr;
  void* raw = it->second;
  raw_of_.erase(it);
  return raw;
}

std::size_t AlignedBlockMap::size() const {
  std::lock_guard lock(mutex_);
  return raw_of_.size();
}

}  // namespace ghtier::detail
