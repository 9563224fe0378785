// ChunkPlanner: cuts one transfer into chunks, so that an urgent request can overtake a long background one
// after at most a chunk, and so that the staging ring and the DMA can work on different chunks at once. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ghtier::detail {

/// One piece of a transfer: `bytes` bytes starting `offset` bytes into it.
struct Chunk {
  std::size_t offset = 0;
  std::size_t bytes = 0;

  friend bool operator==(const Chunk&, const Chunk&) = default;
};

class ChunkPlanner {
 public:
  /// `chunk_bytes` is the largest chunk; boundaries between chunks fall on multiples of `alignment` (a power
  /// of two, at most chunk_bytes) in the address space of the planned range, so every chunk but the first
  /// starts aligned. Throws Error(invalid_argument) naming the bad value.
  ChunkPlanner(std::size_t chunk_bytes, std::size_t alignment);

  /// The chunks of [address, address + bytes), in order: they cover it exactly, none is empty, none is
  /// larger than chunk_bytes(). Zero bytes -> no chunk. Throws Error(invalid_argument) if the range wraps.
  [[nodiscard]] std::vector<Chunk> plan(std::uintptr_t address, std::size_t bytes) const;

  [[nodiscard]] std::size_t chunk_bytes() const noexcept { return chunk_bytes_; }
  [[nodiscard]] std::size_t alignment() const noexcept { return alignment_; }

 private:
  std::size_t chunk_bytes_;
  std::size_t alignment_;
};

}  // namespace ghtier::detail
