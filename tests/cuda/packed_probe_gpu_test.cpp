// GPU tests of the bit-packed join probe (HashJoinTable::probe on a BitpackedColumnView, and its two kernels
// through launch_packed_hash_join_probe) against a CPU multimap join of the unpacked keys, on fresh random
// data: every width 0..32 for int32 and int64 keys, row counts that end inside a block, headers and words
// at misaligned starts, a view over a middle run of blocks (absolute offsets), duplicate build keys, no
// matches, every row matching; grids so small that each warp streams many blocks (the pipelined kernel's
// prefetch path) and the planned grid; poisoned pairs and results; broken headers in the middle of a column.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cuda/column_checks.hpp"
#include "cuda/column_scan_plan.hpp"
#include "cuda/hash_join_kernels.hpp"
#include "cuda/scan_args.hpp"
#include "ghtier/kernels/bitpacked_column.hpp"
#include "ghtier/kernels/hash_join.hpp"
#include "test_support.hpp"
#include "tier_buffer.hpp"

namespace ghtier {
namespace {

using test::Tier;
using test::TierBuffer;
using Pairs = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

struct ReferenceProbe {
  std::uint64_t matches = 0;
  std::uint64_t sum = 0;  // int64 payloads, wrapping
  Pairs pairs;            // sorted
};

// The join of probe[first, first + rows) (probe rows counted from `first`) with the build side.
template <typename K>
ReferenceProbe reference_probe(const std::vector<K>& build, const std::vector<std::int64_t>& payload,
                               const std::vector<K>& probe, std::size_t first, std::size_t rows,
                               bool keep_pairs = true) {
  std::unordered_multimap<std::int64_t, std::uint64_t> table;
  for (std::size_t i = 0; i < build.size(); ++i) table.emplace(static_cast<std::int64_t>(build[i]), i);
  ReferenceProbe want;
  for (std::size_t r = 0; r < rows; ++r) {
    const auto [begin, end] = table.equal_range(static_cast<std::int64_t>(probe[first + r]));
    for (auto it = begin; it != end; ++it) {
      ++want.matches;
      want.sum += static_cast<std::uint64_t>(payload[it->second]);
      if (keep_pairs) want.pairs.emplace_back(r, it->second);
    }
  }
  std::sort(want.pairs.begin(), want.pairs.end());
  return want;
}

Pairs read_pairs(const TierBuffer& buffer, std::uint64_t count) {
  std::vector<JoinPair> raw(count);
  const auto bytes = buffer.download(0, count * sizeof(JoinPair));
  std::memcpy(raw.data(), bytes.data(), bytes.size());
  Pairs pairs;
  for (const auto& p : raw) pairs.emplace_back(p.probe_row, p.build_row);
  std::sort(pairs.begin(), pairs.end());
  return pairs;
}

void expect_result(const JoinResult& got, const ReferenceProbe& want, bool with_pairs, const std::string& where) {
  SCOPED_TRACE(where);
  EXPECT_EQ(got.matches, want.matches);
  EXPECT_EQ(got.payload_sum_int, static_cast<std::int64_t>(want.sum));
  EXPECT_EQ(got.payload_sum_float, static_cast<double>(static_cast<std::int64_t>(want.sum)));
  EXPECT_EQ(got.pairs_written, with_pairs ? want.matches : 0u);
  EXPECT_EQ(got.pairs_overflowed, 0u);
}

// A build side in pinned memory: keys and a random int64 payload per row (so a wrong row shows in the sum).
template <typename K>
struct BuildSide {
  std::vector<K> keys;
  std::vector<std::int64_t> payload;
  TierBuffer key_buffer;
  TierBuffer payload_buffer;
  HashJoinTable table;

  BuildSide(std::vector<K> k, std::mt19937_64& rng)
      : keys(std::move(k)),
        payload(random_payload(keys.size(), rng)),
        key_buffer(upload(Tier::pinned, keys.data(), keys.size() * sizeof(K))),
        payload_buffer(upload(Tier::pinned, payload.data(), payload.size() * sizeof(std::int64_t))),
        table(column_view(reinterpret_cast<const K*>(key_buffer.data()), keys.size()),
              column_view(reinterpret_cast<const std::int64_t*>(payload_buffer.data()), payload.size())) {}

  static std::vector<std::int64_t> random_payload(std::size_t n, std::mt19937_64& rng) {
    std::uniform_int_distribution<std::int64_t> any(std::numeric_limits<std::int64_t>::min(),
                                                    std::numeric_limits<std::int64_t>::max());
    std::vector<std::int64_t> p(n);
    for (auto& v : p) v = any(rng);
    return p;
  }
  static TierBuffer upload(Tier tier, const void* data, std::size_t bytes) {
    TierBuffer buffer(tier, bytes);
    buffer.upload(data, bytes);
    return buffer;
  }
};

// A packed column in one tier, its headers `header_skew` bytes and its words `word_skew` bytes past a
// 256-byte boundary (8 and 4 keep the alignment the checks ask for, but no more).
struct PlacedPacked {
  std::vector<BitpackBlockHeader> headers;
  std::vector<std::uint32_t> words;
  TierBuffer header_buffer;
  TierBuffer word_buffer;
  BitpackedColumnView view;
};

template <typename K>
PlacedPacked place_packed(const std::vector<K>& values, Tier tier, std::size_t header_skew, std::size_t word_skew) {
  const BitpackPlan plan = plan_bitpack(std::span<const K>(values));
  std::vector<BitpackBlockHeader> headers(plan.blocks.size());
  std::vector<std::uint32_t> words(plan.word_count);
  BitpackedColumnView view = bitpack_into(std::span<const K>(values), plan, std::span(headers), std::span(words));
  const std::size_t header_bytes = headers.size() * sizeof(BitpackBlockHeader);
  const std::size_t word_bytes = words.size() * sizeof(std::uint32_t);
  PlacedPacked placed{std::move(headers), std::move(words), TierBuffer(tier, header_skew + header_bytes),
                      TierBuffer(tier, word_skew + word_bytes), view};
  placed.header_buffer.upload(placed.headers.data(), header_bytes, header_skew);
  placed.word_buffer.upload(placed.words.data(), word_bytes, word_skew);
  placed.view.blocks = reinterpret_cast<const BitpackBlockHeader*>(placed.header_buffer.data() + header_skew);
  placed.view.words = reinterpret_cast<const std::uint32_t*>(placed.word_buffer.data() + word_skew);
  return placed;
}

// Probes through the public API, with and without pairs (pairs into poisoned device memory with room to
// spare: the bytes past the written pairs must stay poisoned too).
template <typename K>
void expect_public_probe(const BuildSide<K>& build, const BitpackedColumnView& view, const ReferenceProbe& want,
                         const std::string& where) {
  expect_result(build.table.probe(view), want, false, where + ", no pairs");
  const std::uint64_t capacity = want.matches + 3;
  TierBuffer pairs(Tier::device, capacity * sizeof(JoinPair));
  pairs.poison();
  const JoinResult got = build.table.probe(view, JoinPairsOutput{reinterpret_cast<JoinPair*>(pairs.data()), capacity});
  expect_result(got, want, true, where + ", pairs");
  EXPECT_EQ(read_pairs(pairs, std::min(got.pairs_written, capacity)), want.pairs) << where;
  const auto spare = pairs.download(want.matches * sizeof(JoinPair), 3 * sizeof(JoinPair));
  EXPECT_TRUE(std::all_of(spare.begin(), spare.end(), [](unsigned char b) { return b == 0xA5; }))
      << where << ": bytes past the pairs were written";
}

// Values whose blocks span 0..2^width - 1 above `base` (the first block exactly).
template <typename K>
std::vector<K> keys_of_width(std::mt19937_64& rng, std::size_t rows, std::uint32_t width, std::int64_t base) {
  const std::uint64_t span = width == 0 ? 0 : (1ull << width) - 1;
  std::uniform_int_distribution<std::uint64_t> offset(0, span);
  std::vector<K> keys(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    std::uint64_t o = offset(rng);
    if (i == 0) o = 0;
    if (i == 1) o = span;
    keys[i] = static_cast<K>(static_cast<std::int64_t>(static_cast<std::uint64_t>(base) + o));
  }
  return keys;
}

// Build keys: up to `count` distinct keys picked from the probe keys (so every width has matches), shuffled.
// Duplicate build keys have a test of their own.
template <typename K>
std::vector<K> build_keys_from(const std::vector<K>& probe, std::mt19937_64& rng, std::size_t count) {
  std::vector<K> build;
  if (probe.empty()) return build;
  std::uniform_int_distribution<std::size_t> pick(0, probe.size() - 1);
  for (std::size_t i = 0; i < count; ++i) build.push_back(probe[pick(rng)]);
  std::sort(build.begin(), build.end());
  build.erase(std::unique(build.begin(), build.end()), build.end());
  std::shuffle(build.begin(), build.end(), rng);
  return build;
}

template <typename K>
void check_width(std::mt19937_64& rng, std::uint32_t width, std::size_t rows, bool misaligned) {
  const std::int64_t base =
      sizeof(K) == 4 ? (width == 32 ? std::numeric_limits<std::int32_t>::min() : -77) : (std::int64_t{-5} << 40);
  const std::vector<K> probe = keys_of_width<K>(rng, rows, width, base);
  std::vector<K> build_keys = build_keys_from(probe, rng, 3000);
  // One more key just below the blocks' base: no probe key (int32 at width 32: it wraps and is one).
  build_keys.push_back(static_cast<K>(base - 1));
  const BuildSide<K> build(std::move(build_keys), rng);
  const PlacedPacked packed = place_packed(probe, Tier::pinned, misaligned ? 8 : 0, misaligned ? 4 : 0);
  const std::string where = std::string(to_string(column_type_of<K>)) + " width " + std::to_string(width) + " rows " +
                            std::to_string(rows) + (misaligned ? " misaligned" : "");
  expect_public_probe(build, packed.view, reference_probe(build.keys, build.payload, probe, 0, rows), where);
}

TEST(PackedProbeKernel, EveryWidthBothKeyTypesOddLengthsMisalignedStarts) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  for (std::uint32_t width = 0; width <= bitpack_max_width; ++width) {
    const bool misaligned = width % 2 == 1;
    check_width<std::int32_t>(rng, width, 7 * 1024 + 333, misaligned);
    check_width<std::int64_t>(rng, width, 3 * 1024 + 1, !misaligned);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(PackedProbeKernel, DuplicatesNoMatchesAndEveryRowMatching) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  const std::size_t rows = 50 * 1024 + 17;
  const std::vector<std::int32_t> probe = keys_of_width<std::int32_t>(rng, rows, 10, 1000);  // keys 1000..2023
  const PlacedPacked packed = place_packed(probe, Tier::pinned, 8, 4);
  {  // every key 0..1023 above the base 5 to 40 times on the build side: many matches per probe row
    std::vector<std::int32_t> keys;
    std::uniform_int_distribution<int> copies(5, 40);
    for (std::int32_t k = 1000; k < 2024; ++k) keys.insert(keys.end(), copies(rng), k);
    std::shuffle(keys.begin(), keys.end(), rng);
    const BuildSide<std::int32_t> build(std::move(keys), rng);
    expect_public_probe(build, packed.view, reference_probe(build.keys, build.payload, probe, 0, rows), "duplicates");
  }
  {  // build keys outside the probe keys' range (below and above): nothing matches
    std::vector<std::int32_t> keys;
    for (std::int32_t k = 0; k < 1000; ++k) keys.push_back(k);
    for (std::int32_t k = 2024; k < 4000; ++k) keys.push_back(k);
    const BuildSide<std::int32_t> build(std::move(keys), rng);
    const ReferenceProbe want = reference_probe(build.keys, build.payload, probe, 0, rows);
    ASSERT_EQ(want.matches, 0u);
    expect_public_probe(build, packed.view, want, "no matches");
  }
  {  // every key of the range once: every probe row matches exactly one build row
    std::vector<std::int32_t> keys;
    for (std::int32_t k = 1000; k < 2024; ++k) keys.push_back(k);
    std::shuffle(keys.begin(), keys.end(), rng);
    const BuildSide<std::int32_t> build(std::move(keys), rng);
    const ReferenceProbe want = reference_probe(build.keys, build.payload, probe, 0, rows);
    ASSERT_EQ(want.matches, rows);
    expect_public_probe(build, packed.view, want, "all match");
  }
}

TEST(PackedProbeKernel, ViewOverMiddleBlocksWithAbsoluteOffsets) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  // Blocks of different widths, so the middle run starts at a nonzero word offset.
  std::vector<std::int64_t> probe;
  for (std::uint32_t width : {3u, 17u, 9u, 30u, 1u, 12u}) {
    const auto part = keys_of_width<std::int64_t>(rng, 1024, width, 40000);
    probe.insert(probe.end(), part.begin(), part.end());
  }
  const BuildSide<std::int64_t> build(build_keys_from(probe, rng, 2000), rng);
  const PlacedPacked packed = place_packed(probe, Tier::pinned, 0, 0);
  // Blocks 2..4 (the last one cut to 700 rows): headers from block 2, words still counted from the column's
  // start (offsets are absolute), word_count the end of block 4's words.
  BitpackedColumnView middle = packed.view;
  middle.blocks = packed.view.blocks + 2;
  middle.rows = 2 * 1024 + 700;
  middle.word_count = (static_cast<std::uint64_t>(packed.headers[4].offset) + packed.headers[4].width) * 32;
  expect_public_probe(build, middle, reference_probe(build.keys, build.payload, probe, 2 * 1024, middle.rows),
                      "blocks 2..4");
}

constexpr detail::PackedProbeKernel kernels[] = {detail::PackedProbeKernel::pipelined,
                                                 detail::PackedProbeKernel::pipelined_staged_homes,
                                                 detail::PackedProbeKernel::warp_synchronous};
std::string kernel_name(detail::PackedProbeKernel which) {
  switch (which) {
    case detail::PackedProbeKernel::pipelined: return "pipelined";
    case detail::PackedProbeKernel::pipelined_staged_homes: return "pipelined, staged homes";
    case detail::PackedProbeKernel::warp_synchronous: return "warp-synchronous";
  }
  return "?";
}

// The kernels directly, with a grid of our choosing: a single warp (or a few) streaming every block of the
// column exercises the pipelined kernel's prefetch of words and headers; every kernel must agree.
struct LaunchOutcome {
  JoinResult result;
  std::uint64_t first_bad_block = 0;
  Pairs pairs;
};

template <typename K>
LaunchOutcome launch_probe(const BuildSide<K>& build, const BitpackedColumnView& view, detail::ScanGrid grid,
                           detail::PackedProbeKernel which, std::uint64_t pair_capacity) {
  detail::HashTableView table;
  table.slots = const_cast<void*>(build.table.device_slots());
  table.payloads = const_cast<void*>(build.table.device_payloads());
  table.capacity = build.table.layout().capacity;
  table.key_type = build.table.key_type();
  table.payload = detail::PayloadKind::integer;
  TierBuffer accumulator(Tier::device, sizeof(detail::JoinAccumulator));
  TierBuffer result(Tier::device, sizeof(JoinResult));
  TierBuffer pairs(Tier::device, std::max<std::uint64_t>(pair_capacity, 1) * sizeof(JoinPair));
  accumulator.poison();
  result.poison();
  pairs.poison();
  const JoinPairsOutput output{reinterpret_cast<JoinPair*>(pairs.data()), pair_capacity};
  auto* acc = reinterpret_cast<detail::JoinAccumulator*>(accumulator.data());
  test::TestStream stream;
  detail::launch_join_init(acc, stream.get());
  detail::launch_packed_hash_join_probe(detail::to_packed_column(view), grid, table, output, acc, stream.get(), which);
  detail::launch_join_finalize(acc, table.payload, true, pair_capacity, reinterpret_cast<JoinResult*>(result.data()),
                               stream.get());
  stream.sync();
  LaunchOutcome outcome;
  const auto result_bytes = result.download();
  std::memcpy(&outcome.result, result_bytes.data(), sizeof(JoinResult));
  const auto acc_bytes = accumulator.download();
  detail::JoinAccumulator host_acc;
  std::memcpy(&host_acc, acc_bytes.data(), sizeof(host_acc));
  outcome.first_bad_block = host_acc.first_bad_block;
  outcome.pairs = read_pairs(pairs, std::min(outcome.result.pairs_written, pair_capacity));
  return outcome;
}

TEST(PackedProbeKernel, SmallGridsStreamManyBlocksPerWarpEveryKernel) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  // 300 blocks (the last one partial) of mixed widths, so each warp of a small grid walks dozens of blocks.
  std::vector<std::int32_t> probe;
  std::uniform_int_distribution<std::uint32_t> any_width(0, 14);
  for (int b = 0; b < 300; ++b) {
    const auto part = keys_of_width<std::int32_t>(rng, b == 299 ? 555 : 1024, any_width(rng), 20000);
    probe.insert(probe.end(), part.begin(), part.end());
  }
  const BuildSide<std::int32_t> build(build_keys_from(probe, rng, 5000), rng);
  const PlacedPacked packed = place_packed(probe, Tier::pinned, 8, 4);
  const ReferenceProbe want = reference_probe(build.keys, build.payload, probe, 0, probe.size());
  const std::vector<detail::ScanGrid> grids{{1, 32},
                                            {1, 64},
                                            {3, 96},
                                            {7, 128},
                                            detail::plan_packed_probe_grid(packed.view.block_count(), 132),
                                            detail::plan_packed_probe_grid(packed.view.block_count(), 2)};
  for (const detail::ScanGrid& grid : grids) {
    for (auto which : kernels) {
      const std::string where =
          "grid " + std::to_string(grid.blocks) + " x " + std::to_string(grid.threads) + " " + kernel_name(which);
      const LaunchOutcome got = launch_probe(build, packed.view, grid, which, want.matches + 1);
      expect_result(got.result, want, true, where);
      EXPECT_EQ(got.first_bad_block, ~0ull) << where;
      EXPECT_EQ(got.pairs, want.pairs) << where;
      if (::testing::Test::HasFailure()) return;
    }
  }
  // The first release's kernel with the grid it had.
  const LaunchOutcome old = launch_probe(build, packed.view, detail::plan_packed_grid(packed.view.block_count(), 132),
                                         detail::PackedProbeKernel::warp_synchronous, want.matches + 1);
  expect_result(old.result, want, true, "warp-synchronous, 256-thread grid");
  EXPECT_EQ(old.pairs, want.pairs);
  // Fewer pairs than matches: the count and sum stay exact, the pairs written are a correct subset.
  const std::uint64_t capacity = want.matches / 3;
  const LaunchOutcome cut = launch_probe(build, packed.view, {2, 64}, detail::PackedProbeKernel::pipelined, capacity);
  EXPECT_EQ(cut.result.matches, want.matches);
  EXPECT_EQ(cut.result.payload_sum_int, static_cast<std::int64_t>(want.sum));
  EXPECT_EQ(cut.result.pairs_written, capacity);
  EXPECT_EQ(cut.result.pairs_overflowed, 1u);
  EXPECT_TRUE(std::includes(want.pairs.begin(), want.pairs.end(), cut.pairs.begin(), cut.pairs.end()));
  EXPECT_EQ(std::adjacent_find(cut.pairs.begin(), cut.pairs.end()), cut.pairs.end()) << "a pair written twice";
  // A grid the kernels cannot take is refused before any launch.
  EXPECT_GHTIER_ERROR(launch_probe(build, packed.view, {1, 48}, detail::PackedProbeKernel::pipelined, 0),
                      ErrorCode::internal);
  EXPECT_GHTIER_ERROR(launch_probe(build, packed.view, {1, 256}, detail::PackedProbeKernel::pipelined, 0),
                      ErrorCode::internal);
  EXPECT_GHTIER_ERROR(launch_probe(build, packed.view, {1, 512}, detail::PackedProbeKernel::warp_synchronous, 0),
                      ErrorCode::internal);
}

TEST(PackedProbeKernel, BrokenHeadersMidColumnAreReportedNotRead) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  const std::vector<std::int32_t> probe = keys_of_width<std::int32_t>(rng, 200 * 1024 + 9, 11, 0);
  const BuildSide<std::int32_t> build(build_keys_from(probe, rng, 1000), rng);
  PlacedPacked packed = place_packed(probe, Tier::device, 0, 0);
  // Block 150: width 40; block 77: its words start past the end; block 199 (the second last): both.
  std::vector<BitpackBlockHeader> broken = packed.headers;
  broken[150].width = 40;
  broken[77].offset = 1u << 30;
  broken[199].width = 33;
  broken[199].offset = ~0u;
  packed.header_buffer.upload(broken.data(), broken.size() * sizeof(BitpackBlockHeader));
  for (const detail::ScanGrid grid : {detail::ScanGrid{1, 32}, detail::ScanGrid{5, 128},
                                      detail::plan_packed_probe_grid(packed.view.block_count(), 132)}) {
    for (auto which : kernels) {
      const LaunchOutcome got = launch_probe(build, packed.view, grid, which, 0);
      EXPECT_EQ(got.first_bad_block, 77u) << grid.blocks << " x " << grid.threads << " " << kernel_name(which);
    }
  }
  try {
    (void)build.table.probe(packed.view);
    ADD_FAILURE() << "expected Error(invalid_argument)";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("block 77"), std::string::npos) << e.what();
  }
}

TEST(PackedProbeKernel, ManyBlocksPerWarpThroughThePublicApi) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  // More blocks than the planned grid has warps (at most 8 blocks of 8 warps per SM): every warp streams.
  int device = 0;
  int sm_count = 0;
  ASSERT_EQ(cudaGetDevice(&device), cudaSuccess);
  ASSERT_EQ(cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, device), cudaSuccess);
  const std::size_t blocks = static_cast<std::size_t>(sm_count) * 64 * 3 + 5;
  const std::vector<std::int32_t> probe = keys_of_width<std::int32_t>(rng, blocks * 1024 - 100, 12, 0);
  std::vector<std::int32_t> keys;
  for (std::int32_t k = 0; k < 4096; k += 2) keys.push_back(k);  // the benchmark's table: the even keys
  const BuildSide<std::int32_t> build(std::move(keys), rng);
  const PlacedPacked packed = place_packed(probe, Tier::pinned, 0, 0);
  const ReferenceProbe want = reference_probe(build.keys, build.payload, probe, 0, probe.size(), false);
  expect_result(build.table.probe(packed.view), want, false, "many blocks per warp");
}

}  // namespace
}  // namespace ghtier
