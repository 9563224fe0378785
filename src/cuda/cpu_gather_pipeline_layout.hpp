// How CpuGatherPipeline cuts one call's output: chunks (one staging slot, one copy each) of chunk_rows rows,
// each cut into pieces (what one thread gathers at a time) of piece_rows rows; the last chunk and the last
// piece of each chunk may be shorter. Pure arithmetic, tested on the CPU.
#pragma once

#include <cstddef>

namespace ghtier::detail {

struct ChunkLayout {
  std::size_t count = 0;             ///< rows in the call
  std::size_t chunk_rows = 0;        ///< rows per chunk (at least 1)
  std::size_t piece_rows = 0;        ///< rows per piece (1 to chunk_rows)
  std::size_t pieces_per_chunk = 0;  ///< pieces of a full chunk
  std::size_t chunks = 0;            ///< chunks in the call
  std::size_t pieces = 0;            ///< pieces in the call

  /// One piece: its chunk, its first row in the output and in its chunk, its rows.
  struct Piece {
    std::size_t chunk = 0;
    std::size_t first = 0;
    std::size_t row_in_chunk = 0;
    std::size_t rows = 0;
  };

  /// The layout of `count` rows of `row_bytes` (> 0) into chunks of at most max(chunk_bytes, row_bytes)
  /// bytes and pieces of at most max(piece_bytes, row_bytes) bytes.
  [[nodiscard]] static ChunkLayout make(std::size_t count, std::size_t row_bytes, std::size_t chunk_bytes,
                                        std::size_t piece_bytes) noexcept;
  /// Piece `p` (< pieces): pieces run in output order, chunk by chunk.
  [[nodiscard]] Piece piece(std::size_t p) const noexcept;
  /// Pieces in chunk `c` (< chunks).
  [[nodiscard]] std::size_t pieces_in(std::size_t c) const noexcept;
  /// Rows in chunk `c` (< chunks).
  [[nodiscard]] std::size_t rows_in(std::size_t c) const noexcept;
};

}  // namespace ghtier::detail
