// CPU tests (CI) of CpuGatherPipeline's chunk and piece arithmetic: on random shapes the pieces cover every
// output row exactly once, in order, each inside one chunk and one staging slot; a hand-worked layout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <random>

#include "cuda/cpu_gather_pipeline_layout.hpp"
#include "test_support.hpp"

using ghtier::detail::ChunkLayout;

TEST(CpuGatherPipelineLayout, AHandWorkedLayout) {
  // 1000 rows of 100 B, chunks of 3000 B (30 rows), pieces of 1200 B (12 rows): 34 chunks, the last of 10 rows;
  // a full chunk is pieces of 12, 12 and 6 rows; the last chunk one piece of 10 rows.
  const ChunkLayout l = ChunkLayout::make(1000, 100, 3000, 1200);
  EXPECT_EQ(l.chunk_rows, 30u);
  EXPECT_EQ(l.piece_rows, 12u);
  EXPECT_EQ(l.pieces_per_chunk, 3u);
  EXPECT_EQ(l.chunks, 34u);
  EXPECT_EQ(l.pieces, 33u * 3 + 1);
  EXPECT_EQ(l.rows_in(33), 10u);
  EXPECT_EQ(l.pieces_in(33), 1u);
  const ChunkLayout::Piece third = l.piece(2);
  EXPECT_EQ(third.chunk, 0u);
  EXPECT_EQ(third.first, 24u);
  EXPECT_EQ(third.row_in_chunk, 24u);
  EXPECT_EQ(third.rows, 6u);  // cut at the chunk's end, not a whole piece
  const ChunkLayout::Piece fourth = l.piece(3);
  EXPECT_EQ(fourth.chunk, 1u);
  EXPECT_EQ(fourth.first, 30u);
  EXPECT_EQ(fourth.row_in_chunk, 0u);
}

TEST(CpuGatherPipelineLayout, RowsWiderThanAChunkOrAPieceTakeOneRowEach) {
  const ChunkLayout l = ChunkLayout::make(7, 5000, 3000, 1000);
  EXPECT_EQ(l.chunk_rows, 1u);
  EXPECT_EQ(l.piece_rows, 1u);
  EXPECT_EQ(l.chunks, 7u);
  EXPECT_EQ(l.pieces, 7u);
  const ChunkLayout none = ChunkLayout::make(0, 64, 4096, 1024);
  EXPECT_EQ(none.chunks, 0u);
  EXPECT_EQ(none.pieces, 0u);
}

TEST(CpuGatherPipelineLayout, PiecesCoverEveryRowOnceInOrderInsideTheirChunk) {
  std::mt19937_64 rng = ghtier::test::fresh_rng();
  for (int trial = 0; trial < 2000; ++trial) {
    const std::size_t row_bytes = 1 + rng() % 6000;
    const std::size_t chunk_bytes = 1 + rng() % 70000;
    const std::size_t piece_bytes = 1 + rng() % 20000;
    const std::size_t count = rng() % 5000;
    const ChunkLayout l = ChunkLayout::make(count, row_bytes, chunk_bytes, piece_bytes);
    SCOPED_TRACE(testing::Message() << count << " rows of " << row_bytes << " B, chunks of " << chunk_bytes
                                    << " B, pieces of " << piece_bytes << " B");
    ASSERT_GE(l.chunk_rows, 1u);
    ASSERT_LE(l.chunk_rows * row_bytes, std::max(chunk_bytes, row_bytes));  // fits a slot
    ASSERT_GE(l.piece_rows, 1u);
    ASSERT_LE(l.piece_rows, l.chunk_rows);
    std::size_t next_row = 0;
    std::size_t chunk_rows_seen = 0;
    std::size_t pieces_in_chunk = 0;
    std::size_t chunk = 0;
    std::size_t rows_total = 0;
    for (std::size_t p = 0; p < l.pieces; ++p) {
      const ChunkLayout::Piece piece = l.piece(p);
      ASSERT_EQ(piece.first, next_row) << "piece " << p;
      ASSERT_GE(piece.rows, 1u);
      ASSERT_LE(piece.rows, l.piece_rows);
      ASSERT_EQ(piece.first, piece.chunk * l.chunk_rows + piece.row_in_chunk);
      ASSERT_LE(piece.row_in_chunk + piece.rows, l.chunk_rows) << "piece " << p << " crosses its chunk's end";
      if (piece.chunk != chunk) {
        ASSERT_EQ(piece.chunk, chunk + 1);
        ASSERT_EQ(chunk_rows_seen, l.rows_in(chunk));
        ASSERT_EQ(pieces_in_chunk, l.pieces_in(chunk));
        chunk = piece.chunk;
        chunk_rows_seen = 0;
        pieces_in_chunk = 0;
      }
      ASSERT_EQ(piece.row_in_chunk, chunk_rows_seen);
      chunk_rows_seen += piece.rows;
      ++pieces_in_chunk;
      next_row += piece.rows;
    }
    ASSERT_EQ(next_row, count);
    if (count == 0) continue;
    ASSERT_EQ(chunk + 1, l.chunks);
    ASSERT_EQ(chunk_rows_seen, l.rows_in(chunk));
    ASSERT_EQ(pieces_in_chunk, l.pieces_in(chunk));
    for (std::size_t c = 0; c < l.chunks; ++c) rows_total += l.rows_in(c);
    ASSERT_EQ(rows_total, count);
  }
}
