// TorchBlockCache (torch_block_cache.hpp): size classes, the default bound, and the per-(stream, class) LIFOs.
#include "capi/torch_block_cache.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <new>

namespace ghtier::capi {

std::size_t TorchBlockCache::size_class(std::size_t bytes) noexcept {
  if (bytes == 0) return 0;
  const std::size_t granularity =
      bytes <= small_limit ? small_granularity : std::min(std::bit_floor(bytes) / 8, large_granularity);
  if (bytes > std::numeric_limits<std::size_t>::max() - (granularity - 1)) return 0;
  return (bytes + granularity - 1) / granularity * granularity;
}

std::size_t TorchBlockCache::default_limit(std::size_t device_bytes) noexcept {
  return std::max(minimum_default_limit, device_bytes / 4);
}

void* TorchBlockCache::take(const void* stream, std::size_t bytes) noexcept {
  const auto it = free_.find(Key{stream, bytes});
  if (it == free_.end() || it->second.empty()) {
    ++misses_;
    return nullptr;
  }
  void* data = it->second.back();
  it->second.pop_back();
  cached_bytes_ -= bytes;
  --cached_blocks_;
  ++hits_;
  return data;
}

bool TorchBlockCache::put(const void* stream, std::size_t bytes, void* data) noexcept {
  if (data == nullptr || bytes == 0 || bytes > limit_ || cached_bytes_ > limit_ - bytes) return false;
  try {
    free_[Key{stream, bytes}].push_back(data);
  } catch (const std::bad_alloc&) {
    return false;  // the index could not grow: the caller frees the block, nothing is lost
  }
  cached_bytes_ += bytes;
  ++cached_blocks_;
  return true;
}

std::vector<TorchBlockCache::Block> TorchBlockCache::drain() {
  std::vector<Block> out;
  out.reserve(cached_blocks_);
  for (const auto& [key, blocks] : free_) {
    for (void* data : blocks) out.push_back(Block{data, key.bytes, key.stream});
  }
  // Emptied whole (not just the lists): a long run with ever new shapes must not keep every key it saw.
  free_.clear();
  cached_bytes_ = 0;
  cached_blocks_ = 0;
  return out;
}

}  // namespace ghtier::capi
