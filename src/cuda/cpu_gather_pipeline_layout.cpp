// ChunkLayout: chunk and piece arithmetic of CpuGatherPipeline.
#include "cuda/cpu_gather_pipeline_layout.hpp"

#include <algorithm>

namespace ghtier::detail {

ChunkLayout ChunkLayout::make(std::size_t count, std::size_t row_bytes, std::size_t chunk_bytes,
                              std::size_t piece_bytes) noexcept {
  ChunkLayout l;
  l.count = count;
  l.chunk_rows = std::max<std::size_t>(1, chunk_bytes / row_bytes);
  l.piece_rows = std::clamp<std::size_t>(piece_bytes / row_bytes, 1, l.chunk_rows);
  l.pieces_per_chunk = (l.chunk_rows + l.piece_rows - 1) / l.piece_rows;
  l.chunks = (count + l.chunk_rows - 1) / l.chunk_rows;
  if (l.chunks == 0) return l;
  const std::size_t last_rows = count - (l.chunks - 1) * l.chunk_rows;
  l.pieces = (l.chunks - 1) * l.pieces_per_chunk + (last_rows + l.piece_rows - 1) / l.piece_rows;
  return l;
}

ChunkLayout::Piece ChunkLayout::piece(std::size_t p) const noexcept {
  Piece r;
  r.chunk = p / pieces_per_chunk;
  r.row_in_chunk = (p % pieces_per_chunk) * piece_rows;
  r.first = r.chunk * chunk_rows + r.row_in_chunk;
  r.rows = std::min({piece_rows, chunk_rows - r.row_in_chunk, count - r.first});
  return r;
}

std::size_t ChunkLayout::pieces_in(std::size_t c) const noexcept {
  return c + 1 < chunks ? pieces_per_chunk : pieces - c * pieces_per_chunk;
}

std::size_t ChunkLayout::rows_in(std::size_t c) const noexcept { return std::min(chunk_rows, count - c * chunk_rows); }

}  // namespace ghtier::detail
