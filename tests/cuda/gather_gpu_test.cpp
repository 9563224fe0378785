// GPU tests of gather, sorted_gather and scatter against a CPU reference on fresh random data: every row
// width class, int32 and int64 indices, every tier the platform allows for the table, duplicates, empty
// input, one row, unaligned pointers, out-of-range indices (both ways of checking), and the refusal of
// pageable memory where the GPU cannot reach it. Outputs are poisoned before every call.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "gather_reference.hpp"
#include "ghtier/error.hpp"
#include "ghtier/kernels/gather.hpp"
#include "ghtier/kernels/index_check.hpp"
#include "ghtier/kernels/scatter.hpp"
#include "ghtier/kernels/sorted_gather.hpp"
#include "same_rows.hpp"
#include "test_support.hpp"
#include "tier_buffer.hpp"

using namespace ghtier;
using test::Tier;
using test::TierBuffer;

namespace {
constexpr unsigned char poison_byte = 0xA5;
const std::vector<std::size_t> row_widths = {4, 12, 16, 100, 128, 1024, 4096, 5000};

using ghtier::test::random_bytes;

using ghtier::test::device_indices;
using ghtier::test::reference_gather;
using ghtier::test::same_rows;

enum class Kind { plain, sorted };

template <class Index>
void run_gather(Kind kind, const void* table, std::size_t row_bytes, std::size_t num_rows, const Index* idx,
                std::size_t count, void* out, cudaStream_t stream, IndexCheck* check = nullptr) {
  if (kind == Kind::plain) {
    gather(table, row_bytes, num_rows, idx, count, out, stream, check);
  } else {
    sorted_gather(table, row_bytes, num_rows, idx, count, out, stream, check);
  }
}

/// Rows for a table of at most about 6 MB (so that the whole matrix stays quick under compute-sanitizer).
std::size_t rows_for(std::size_t row_bytes) { return std::clamp<std::size_t>((6u << 20) / row_bytes, 64, 3000); }

const char* system_skip_reason =
    "system (malloc) memory: this GPU cannot access pageable memory (no ATS/HMM); the refusal is tested in "
    "GatherPageable";

template <class Index>
void gather_matches_reference(std::size_t row_bytes, Tier table_tier, Tier out_tier) {
  auto rng = test::fresh_rng();
  const std::size_t num_rows = rows_for(row_bytes);
  const std::size_t count = num_rows + 123;  // more requests than rows: duplicates for sure
  const std::vector<unsigned char> host = random_bytes(rng, num_rows * row_bytes);
  TierBuffer table(table_tier, host.size());
  table.upload(host.data(), host.size());
  const std::vector<Index> idx = test::uniform_keys<Index>(rng, count, num_rows);
  const TierBuffer d_idx = device_indices(idx);
  const std::vector<unsigned char> expected = reference_gather(host, row_bytes, idx);
  TierBuffer out(out_tier, count * row_bytes);
  test::TestStream stream;
  for (Kind kind : {Kind::plain, Kind::sorted}) {
    SCOPED_TRACE(kind == Kind::plain ? "gather" : "sorted_gather");
    out.poison(poison_byte);
    run_gather(kind, table.data(), row_bytes, num_rows, reinterpret_cast<const Index*>(d_idx.data()), count, out.data(),
               stream.get());
    stream.sync();
    EXPECT_TRUE(same_rows(expected, out.download(), row_bytes));
  }
}
}  // namespace

class GatherMatrix : public ::testing::TestWithParam<std::tuple<std::size_t, Tier, bool>> {};

TEST_P(GatherMatrix, MatchesTheCpuReference) {
  GHTIER_REQUIRE_GPU();
  const auto [row_bytes, tier, wide] = GetParam();
  if (!test::gpu_reaches(tier)) GTEST_SKIP() << system_skip_reason;
  if (wide) {
    gather_matches_reference<std::int64_t>(row_bytes, tier, Tier::device);
  } else {
    gather_matches_reference<std::int32_t>(row_bytes, tier, Tier::device);
  }
}

INSTANTIATE_TEST_SUITE_P(WidthsTiersIndexTypes, GatherMatrix,
                         ::testing::Combine(::testing::ValuesIn(row_widths),
                                            ::testing::Values(Tier::device, Tier::pinned, Tier::managed, Tier::system),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::to_string(std::get<0>(info.param)) + "B_" +
                                  test::to_string(std::get<1>(info.param)) +
                                  (std::get<2>(info.param) ? "_int64" : "_int32");
                         });

TEST(Gather, OutputInHostTiers) {
  GHTIER_REQUIRE_GPU();
  for (Tier out_tier : {Tier::pinned, Tier::managed}) {
    for (std::size_t row_bytes : {16u, 128u, 1024u, 5000u}) {
      SCOPED_TRACE(std::string("out in ") + test::to_string(out_tier) + ", " + std::to_string(row_bytes) + " B");
      gather_matches_reference<std::int64_t>(row_bytes, Tier::pinned, out_tier);
    }
  }
}

TEST(Gather, UnalignedTableAndOutput) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  test::TestStream stream;
  for (Tier tier : {Tier::device, Tier::pinned}) {
    for (std::size_t row_bytes : {4u, 12u, 16u, 100u, 128u, 1024u, 5000u, 70000u}) {
      const std::size_t num_rows = std::clamp<std::size_t>((3u << 20) / row_bytes, 40, 400);
      const std::size_t count = num_rows + 17;
      const std::vector<unsigned char> host = random_bytes(rng, num_rows * row_bytes);
      const std::vector<std::int64_t> idx = test::uniform_keys<std::int64_t>(rng, count, num_rows);
      const TierBuffer d_idx = device_indices(idx);
      const std::vector<unsigned char> expected = reference_gather(host, row_bytes, idx);
      TierBuffer table(tier, host.size() + 16);
      TierBuffer out(Tier::device, count * row_bytes + 16);
      for (std::size_t table_offset : {1u, 4u, 8u}) {
        for (std::size_t out_offset : {0u, 3u, 12u}) {
          SCOPED_TRACE(std::string(test::to_string(tier)) + " table, " + std::to_string(row_bytes) +
                       " B rows, table +" + std::to_string(table_offset) + ", out +" + std::to_string(out_offset));
          table.upload(host.data(), host.size(), table_offset);
          for (Kind kind : {Kind::plain, Kind::sorted}) {
            out.poison(poison_byte);
            run_gather(kind, table.data() + table_offset, row_bytes, num_rows,
                       reinterpret_cast<const std::int64_t*>(d_idx.data()), count, out.data() + out_offset,
                       stream.get());
            stream.sync();
            const std::vector<unsigned char> got = out.download();
            EXPECT_TRUE(same_rows(
                expected,
                std::vector<unsigned char>(got.begin() + out_offset, got.begin() + out_offset + expected.size()),
                row_bytes));
            // Nothing written outside the output rows.
            for (std::size_t b = 0; b < out_offset; ++b) ASSERT_EQ(got[b], poison_byte) << "before out, byte " << b;
            for (std::size_t b = out_offset + expected.size(); b < got.size(); ++b) {
              ASSERT_EQ(got[b], poison_byte) << "after out, byte " << b;
            }
          }
        }
      }
    }
  }
}

TEST(Gather, EmptyInputLeavesTheOutputAlone) {
  GHTIER_REQUIRE_GPU();
  TierBuffer table(Tier::device, 128 * 10);
  TierBuffer out(Tier::device, 128);
  out.poison(poison_byte);
  test::TestStream stream;
  gather(table.data(), 128, 10, static_cast<const std::int64_t*>(nullptr), 0, out.data(), stream.get());
  sorted_gather(table.data(), 128, 10, static_cast<const std::int32_t*>(nullptr), 0, out.data(), stream.get());
  scatter(out.data(), 128, 0, static_cast<const std::int64_t*>(nullptr), table.data(), 10, stream.get());
  stream.sync();
  for (unsigned char b : out.download()) ASSERT_EQ(b, poison_byte);
}

TEST(Gather, OneRowTablesAndAllIndicesEqual) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  test::TestStream stream;
  for (std::size_t row_bytes : {4u, 100u, 1024u, 5000u}) {
    // A one-row table, asked for once and then 777 times.
    const std::vector<unsigned char> host = random_bytes(rng, row_bytes);
    TierBuffer table(Tier::pinned, row_bytes);
    table.upload(host.data(), host.size());
    for (std::size_t count : {1u, 777u}) {
      const std::vector<std::int32_t> idx(count, 0);
      const TierBuffer d_idx = device_indices(idx);
      TierBuffer out(Tier::device, count * row_bytes);
      for (Kind kind : {Kind::plain, Kind::sorted}) {
        out.poison(poison_byte);
        run_gather(kind, table.data(), row_bytes, 1, reinterpret_cast<const std::int32_t*>(d_idx.data()), count,
                   out.data(), stream.get());
        stream.sync();
        EXPECT_TRUE(same_rows(reference_gather(host, row_bytes, idx), out.download(), row_bytes)) << row_bytes;
      }
    }
    // A larger table with every index the same.
    const std::size_t num_rows = 50;
    const std::vector<unsigned char> big = random_bytes(rng, num_rows * row_bytes);
    TierBuffer big_table(Tier::pinned, big.size());
    big_table.upload(big.data(), big.size());
    const std::vector<std::int64_t> same(1000, 37);
    const TierBuffer d_same = device_indices(same);
    TierBuffer out(Tier::device, same.size() * row_bytes);
    for (Kind kind : {Kind::plain, Kind::sorted}) {
      out.poison(poison_byte);
      run_gather(kind, big_table.data(), row_bytes, num_rows, reinterpret_cast<const std::int64_t*>(d_same.data()),
                 same.size(), out.data(), stream.get());
      stream.sync();
      EXPECT_TRUE(same_rows(reference_gather(big, row_bytes, same), out.download(), row_bytes)) << row_bytes;
    }
  }
}

TEST(Gather, ManyRowsPerThreadUseTheGridStrideLoops) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  test::TestStream stream;
  // 4 B rows: more rows than the grid's threads hold in one pass; 1 KiB rows: more than its warps.
  for (const auto& [row_bytes, count] : {std::pair<std::size_t, std::size_t>{4, 600000}, {1024, 5000}}) {
    const std::size_t num_rows = 1000;
    const std::vector<unsigned char> host = random_bytes(rng, num_rows * row_bytes);
    TierBuffer table(Tier::device, host.size());
    table.upload(host.data(), host.size());
    const std::vector<std::int32_t> idx = test::uniform_keys<std::int32_t>(rng, count, num_rows);
    const TierBuffer d_idx = device_indices(idx);
    TierBuffer out(Tier::device, count * row_bytes);
    for (Kind kind : {Kind::plain, Kind::sorted}) {
      out.poison(poison_byte);
      run_gather(kind, table.data(), row_bytes, num_rows, reinterpret_cast<const std::int32_t*>(d_idx.data()), count,
                 out.data(), stream.get());
      stream.sync();
      EXPECT_TRUE(same_rows(reference_gather(host, row_bytes, idx), out.download(), row_bytes)) << row_bytes;
    }
  }
}

TEST(Gather, OutOfRangeIndicesGiveZeroRowsAndAnError) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  test::TestStream stream;
  for (std::size_t row_bytes : {16u, 128u, 1024u, 5000u}) {
    const std::size_t num_rows = 200;
    const std::size_t count = 300;
    const std::vector<unsigned char> host = random_bytes(rng, num_rows * row_bytes);
    TierBuffer table(Tier::pinned, host.size());
    table.upload(host.data(), host.size());
    std::vector<std::int64_t> idx = test::uniform_keys<std::int64_t>(rng, count, num_rows);
    idx[17] = -1;
    idx[250] = static_cast<std::int64_t>(num_rows);
    std::vector<std::int64_t> valid = idx;
    valid[17] = 0;
    valid[250] = 0;
    std::vector<unsigned char> expected = reference_gather(host, row_bytes, valid);
    std::memset(expected.data() + 17 * row_bytes, 0, row_bytes);
    std::memset(expected.data() + 250 * row_bytes, 0, row_bytes);
    const TierBuffer d_idx = device_indices(idx);
    const auto* indices = reinterpret_cast<const std::int64_t*>(d_idx.data());
    TierBuffer out(Tier::device, count * row_bytes);
    for (Kind kind : {Kind::plain, Kind::sorted}) {
      SCOPED_TRACE(std::to_string(row_bytes) + (kind == Kind::plain ? " B gather" : " B sorted_gather"));
      // Without an IndexCheck: the call waits and throws, naming the problem.
      out.poison(poison_byte);
      try {
        run_gather(kind, table.data(), row_bytes, num_rows, indices, count, out.data(), stream.get());
        ADD_FAILURE() << "expected Error(invalid_argument)";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        const std::string text = e.what();
        EXPECT_NE(text.find("2 indices out of range"), std::string::npos) << text;
        EXPECT_TRUE(text.find("indices[17] = -1") != std::string::npos ||
                    text.find("indices[250] = 200") != std::string::npos)
            << text;
      }
      EXPECT_TRUE(same_rows(expected, out.download(), row_bytes));
      // With one: asynchronous, recorded, reported once.
      IndexCheck check;
      out.poison(poison_byte);
      run_gather(kind, table.data(), row_bytes, num_rows, indices, count, out.data(), stream.get(), &check);
      EXPECT_EQ(check.bad_index_count(stream.get()), 2u);
      EXPECT_GHTIER_ERROR(check.check(stream.get()), ErrorCode::invalid_argument);
      EXPECT_EQ(check.bad_index_count(stream.get()), 0u);
      check.check(stream.get());  // cleared: no error now
      EXPECT_TRUE(same_rows(expected, out.download(), row_bytes));
    }
  }
}

TEST(Gather, NegativeInt32IndexIsOutOfRange) {
  GHTIER_REQUIRE_GPU();
  TierBuffer table(Tier::device, 12 * 10);
  const std::vector<std::int32_t> idx = {3, -2147483647 - 1, 9};
  const TierBuffer d_idx = device_indices(idx);
  TierBuffer out(Tier::device, 12 * idx.size());
  test::TestStream stream;
  EXPECT_GHTIER_ERROR(gather(table.data(), 12, 10, reinterpret_cast<const std::int32_t*>(d_idx.data()), idx.size(),
                             out.data(), stream.get()),
                      ErrorCode::invalid_argument);
}

class ScatterMatrix : public ::testing::TestWithParam<std::tuple<std::size_t, Tier, bool>> {};

TEST_P(ScatterMatrix, WritesExactlyTheIndexedRows) {
  GHTIER_REQUIRE_GPU();
  const auto [row_bytes, tier, wide] = GetParam();
  if (!test::gpu_reaches(tier)) GTEST_SKIP() << system_skip_reason;
  auto rng = test::fresh_rng();
  const std::size_t num_rows = rows_for(row_bytes);
  const std::size_t count = num_rows / 2 + 1;
  std::vector<unsigned char> expected = random_bytes(rng, num_rows * row_bytes);
  TierBuffer table(tier, expected.size());
  table.upload(expected.data(), expected.size());
  // Distinct target rows, in random order.
  std::vector<std::int64_t> order(num_rows);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  order.resize(count);
  const std::vector<unsigned char> rows = random_bytes(rng, count * row_bytes);
  TierBuffer d_rows(Tier::device, rows.size());
  d_rows.upload(rows.data(), rows.size());
  for (std::size_t i = 0; i < count; ++i) {
    std::memcpy(expected.data() + static_cast<std::size_t>(order[i]) * row_bytes, rows.data() + i * row_bytes,
                row_bytes);
  }
  test::TestStream stream;
  if (wide) {
    const TierBuffer d_idx = device_indices(order);
    scatter(d_rows.data(), row_bytes, count, reinterpret_cast<const std::int64_t*>(d_idx.data()), table.data(),
            num_rows, stream.get());
  } else {
    const std::vector<std::int32_t> order32(order.begin(), order.end());
    const TierBuffer d_idx = device_indices(order32);
    scatter(d_rows.data(), row_bytes, count, reinterpret_cast<const std::int32_t*>(d_idx.data()), table.data(),
            num_rows, stream.get());
  }
  stream.sync();
  EXPECT_TRUE(same_rows(expected, table.download(), row_bytes));
}

INSTANTIATE_TEST_SUITE_P(WidthsTiersIndexTypes, ScatterMatrix,
                         ::testing::Combine(::testing::ValuesIn(row_widths),
                                            ::testing::Values(Tier::device, Tier::pinned, Tier::managed, Tier::system),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::to_string(std::get<0>(info.param)) + "B_" +
                                  test::to_string(std::get<1>(info.param)) +
                                  (std::get<2>(info.param) ? "_int64" : "_int32");
                         });

TEST(Scatter, UnalignedRepeatedAndOutOfRange) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  test::TestStream stream;
  for (std::size_t row_bytes : {12u, 100u, 1024u, 5000u}) {
    SCOPED_TRACE(std::to_string(row_bytes) + " B rows");
    const std::size_t num_rows = 100;
    const std::vector<unsigned char> initial = random_bytes(rng, num_rows * row_bytes);
    TierBuffer table(Tier::pinned, initial.size() + 16);
    const std::size_t table_offset = 3;
    table.upload(initial.data(), initial.size(), table_offset);
    // Rows 5 and 9 are written twice with the same bytes (a well-defined repeat), row 9 from two sources;
    // -1 and 100 are out of range and must write nothing.
    const std::vector<std::int64_t> idx = {5, 9, 5, -1, 9, 42, 100};
    std::vector<unsigned char> rows = random_bytes(rng, idx.size() * row_bytes);
    std::memcpy(rows.data() + 2 * row_bytes, rows.data(), row_bytes);
    std::memcpy(rows.data() + 4 * row_bytes, rows.data() + row_bytes, row_bytes);
    TierBuffer d_rows(Tier::device, rows.size() + 16);
    const std::size_t rows_offset = 5;
    d_rows.upload(rows.data(), rows.size(), rows_offset);
    const TierBuffer d_idx = device_indices(idx);
    std::vector<unsigned char> expected = initial;
    for (std::size_t i : {0u, 1u, 5u}) {
      std::memcpy(expected.data() + static_cast<std::size_t>(idx[i]) * row_bytes, rows.data() + i * row_bytes,
                  row_bytes);
    }
    IndexCheck check;
    scatter(d_rows.data() + rows_offset, row_bytes, idx.size(), reinterpret_cast<const std::int64_t*>(d_idx.data()),
            table.data() + table_offset, num_rows, stream.get(), &check);
    EXPECT_EQ(check.bad_index_count(stream.get()), 2u);
    const std::vector<unsigned char> got = table.download(table_offset, initial.size());
    EXPECT_TRUE(same_rows(expected, got, row_bytes));
    EXPECT_GHTIER_ERROR(check.check(stream.get()), ErrorCode::invalid_argument);
    // And the synchronous form throws.
    EXPECT_GHTIER_ERROR(
        scatter(d_rows.data() + rows_offset, row_bytes, idx.size(), reinterpret_cast<const std::int64_t*>(d_idx.data()),
                table.data() + table_offset, num_rows, stream.get()),
        ErrorCode::invalid_argument);
  }
}

TEST(GatherPageable, RefusedWhereTheGpuCannotReachIt) {
  GHTIER_REQUIRE_GPU();
  const std::size_t row_bytes = 64;
  const std::size_t num_rows = 100;
  std::vector<unsigned char> host_table(num_rows * row_bytes, 1);  // plain pageable memory
  std::vector<std::int64_t> host_idx(10, 3);
  std::vector<unsigned char> host_out(10 * row_bytes);
  TierBuffer table(Tier::device, host_table.size());
  TierBuffer out(Tier::device, host_out.size());
  const TierBuffer idx = device_indices(host_idx);
  const auto* d_idx = reinterpret_cast<const std::int64_t*>(idx.data());
  test::TestStream stream;
  if (test::gpu_reaches(Tier::system)) {
    // ATS/HMM: the same calls run, and gather what they should.
    gather(host_table.data(), row_bytes, num_rows, d_idx, 10, out.data(), stream.get());
    gather(table.data(), row_bytes, num_rows, host_idx.data(), 10, host_out.data(), stream.get());
    stream.sync();
    SUCCEED() << "pageable memory is GPU-reachable on this platform";
    return;
  }
  const auto unsupported = ErrorCode::unsupported;
  EXPECT_GHTIER_ERROR(gather(host_table.data(), row_bytes, num_rows, d_idx, 10, out.data(), stream.get()), unsupported);
  EXPECT_GHTIER_ERROR(gather(table.data(), row_bytes, num_rows, host_idx.data(), 10, out.data(), stream.get()),
                      unsupported);
  EXPECT_GHTIER_ERROR(gather(table.data(), row_bytes, num_rows, d_idx, 10, host_out.data(), stream.get()), unsupported);
  EXPECT_GHTIER_ERROR(sorted_gather(host_table.data(), row_bytes, num_rows, d_idx, 10, out.data(), stream.get()),
                      unsupported);
  EXPECT_GHTIER_ERROR(scatter(out.data(), row_bytes, 10, d_idx, host_table.data(), num_rows, stream.get()),
                      unsupported);
  try {
    gather(host_table.data(), row_bytes, num_rows, d_idx, 10, out.data(), stream.get());
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gather table"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("pageable"), std::string::npos) << e.what();
  }
}
