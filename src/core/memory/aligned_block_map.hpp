// AlignedBlockMap: for resources whose allocator guarantees less alignment than a caller asked, the
// over-sized raw block behind each aligned pointer, so deallocate can hand CUDA back what it returned.
#pragma once

#include <cstddef>
#include <mutex>
#include <unordered_map>

namespace ghtier::detail {

/// Thread-safe map aligned pointer -> raw pointer.
class AlignedBlockMap {
 public:
  /// Bytes to request from an allocator aligned to `natural` so that `bytes` fit at `alignment`.
  [[nodiscard]] static std::size_t padded_size(std::size_t bytes, std::size_t alignment, std::size_t natural) noexcept {
    return alignment <= natural ? bytes : bytes + alignment - natural;
  }
  /// The first address at or after `raw` aligned to `alignment`.
  [[nodiscard]] static void* align(void* raw, std::size_t alignment) noexcept;

  /// Remembers the raw block behind `aligned` (may throw std::bad_alloc: call before handing it out).
  void remember(void* aligned, void* raw);
  /// Forgets and returns the raw block behind `aligned`, or nullptr when it is unknown.
  [[nodiscard]] void* take(void* aligned) noexcept;
  [[nodiscard]] std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<void*, void*> raw_of_;
};

}  // namespace ghtier::detail
