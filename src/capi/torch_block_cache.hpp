// TorchBlockCache: the freed device blocks of one PyTorch allocator slot, kept for the next allocation of the
// same size class on the same stream. PyTorch's pluggable-allocator hook caches nothing itself, so without
// this every tensor of a training step would be a full runtime allocation and a stream-ordered free.
//
// Plain C++ over opaque pointers (a stream is only a key, a block only an address): the slot owns the memory
// and frees what drain() or a refused put() hands back. Not thread-safe: the slot's mutex guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

namespace ghtier::capi {

class TorchBlockCache {
 public:
  /// One cached block: its address, its size (a size class) and the stream it was allocated and freed on.
  struct Block {
    void* data = nullptr;
    std::size_t bytes = 0;
    const void* stream = nullptr;
  };

  /// Requests up to this many bytes are rounded to small_granularity; larger ones to an eighth of their
  /// power of two, at most large_granularity (at most 12.5 % more than asked, and one class per 2 MiB above
  /// 16 MiB).
  static constexpr std::size_t small_limit = std::size_t{1} << 20;
  static constexpr std::size_t small_granularity = 512;
  static constexpr std::size_t large_granularity = std::size_t{2} << 20;
  /// The smallest default bound (default_limit).
  static constexpr std::size_t minimum_default_limit = std::size_t{1} << 30;

  /// The size a request of `bytes` (> 0) is allocated with, so that blocks can serve every request of its
  /// class: a multiple of 512 up to 1 MiB, then of max(2^floor(log2 bytes) / 8, ...) capped at 2 MiB. Returns
  /// 0 when rounding would overflow (the caller allocates the request unrounded and uncached).
  [[nodiscard]] static std::size_t size_class(std::size_t bytes) noexcept;
  /// The bound a slot takes when none is given: the larger of 1 GiB and a quarter of `device_bytes` (the
  /// device budget, or the device's memory when there is no budget).
  [[nodiscard]] static std::size_t default_limit(std::size_t device_bytes) noexcept;

  /// A cache that holds at most `limit_bytes` (0: it holds nothing).
  explicit TorchBlockCache(std::size_t limit_bytes = 0) noexcept : limit_(limit_bytes) {}

  /// The most recently cached block of exactly `bytes` freed on `stream`, taken out of the cache; nullptr
  /// when there is none. Counts a hit or a miss. Allocates nothing.
  [[nodiscard]] void* take(const void* stream, std::size_t bytes) noexcept;
  /// Keeps `data` (`bytes` long, freed on `stream`) for reuse. False when it would take the cache past its
  /// limit or memory for the index cannot be had: the caller frees the block then. Caller must ensure
  /// `data` is not in the cache already.
  [[nodiscard]] bool put(const void* stream, std::size_t bytes, void* data) noexcept;
  /// Empties the cache and returns every block it held (the caller frees them). Counters other than the
  /// cached bytes and blocks are kept.
  [[nodiscard]] std::vector<Block> drain();

  [[nodiscard]] std::size_t limit_bytes() const noexcept { return limit_; }
  /// Sets the bound for later put() calls (blocks already cached stay).
  void set_limit(std::size_t limit_bytes) noexcept { limit_ = limit_bytes; }
  [[nodiscard]] std::size_t cached_bytes() const noexcept { return cached_bytes_; }
  [[nodiscard]] std::size_t cached_blocks() const noexcept { return cached_blocks_; }
  [[nodiscard]] std::uint64_t hits() const noexcept { return hits_; }
  [[nodiscard]] std::uint64_t misses() const noexcept { return misses_; }
  /// Zeroes hits and misses (the slot's counters restart when it is bound again).
  void reset_counters() noexcept { hits_ = misses_ = 0; }

 private:
  struct Key {
    const void* stream;
    std::size_t bytes;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
      return std::hash<const void*>{}(k.stream) ^ (std::hash<std::size_t>{}(k.bytes) * 0x9E3779B97F4A7C15ull);
    }
  };

  // One LIFO per (stream, size class): the block freed last is the likeliest to be warm in L2. Emptied
  // lists keep their capacity, so the steady state of a training step allocates nothing here.
  std::unordered_map<Key, std::vector<void*>, KeyHash> free_;
  std::size_t limit_;
  std::size_t cached_bytes_ = 0;
  std::size_t cached_blocks_ = 0;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

}  // namespace ghtier::capi
