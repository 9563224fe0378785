// ChunkPlanner: aligned chunk boundaries, never a chunk above the limit.
#include "engine/chunk_planner.hpp"

#include <fmt/format.h>

#include <bit>
#include <limits>

#include "ghtier/error.hpp"

namespace ghtier::detail {

ChunkPlanner::ChunkPlanner(std::size_t chunk_bytes, std::size_t alignment)
    : chunk_bytes_(chunk_bytes), alignment_(alignment) {
  if (alignment == 0 || !std::has_single_bit(alignment)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("ChunkPlanner: alignment {} is not a power of two", alignment));
  }
  if (chunk_bytes < alignment) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("ChunkPlanner: chunk size {} bytes is smaller than the alignment {}", chunk_bytes, alignment));
  }
}

std::vector<Chunk> ChunkPlanner::plan(std::uintptr_t address, std::size_t bytes) const {
  std::vector<Chunk> chunks;
  if (bytes == 0) return chunks;
  if (bytes > std::numeric_limits<std::uintptr_t>::max() - address) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("ChunkPlanner: range of {} bytes at {:#x} wraps around the address space", bytes, address));
  }
  const std::uintptr_t end = address + bytes;
  const std::uintptr_t mask = ~static_cast<std::uintptr_t>(alignment_ - 1);
  chunks.reserve(bytes / chunk_bytes_ + 2);
  std::uintptr_t start = address;
  while (start < end) {
    // The furthest aligned boundary within chunk_bytes of start; since chunk_bytes >= alignment it lies
    // beyond start, so progress is guaranteed. Near the top of the address space, clamp instead of wrap.
    std::uintptr_t stop = end;
    if (end - start > chunk_bytes_) stop = (start + chunk_bytes_) & mask;
    chunks.push_back(Chunk{static_cast<std::size_t>(start - address), static_cast<std::size_t>(stop - start)});
    start = stop;
  }
  return chunks;
}

}  // namespace ghtier::detail
