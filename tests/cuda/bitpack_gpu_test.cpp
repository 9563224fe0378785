// GPU tests of the kernels that decode bit-packed columns on the fly: aggregate() and HashJoinTable::probe()
// over packed int32/int64 columns of every width 0..32, in every tier, against CPU references on the
// unpacked values (fresh random data); lengths that are not a multiple of the block; filters on the values
// and on another column; headers that break the format, found by the kernel and reported as an error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "aggregate_reference.hpp"
#include "ghtier/kernels/aggregate.hpp"
#include "ghtier/kernels/bitpacked_column.hpp"
#include "ghtier/kernels/hash_join.hpp"
#include "test_support.hpp"
#include "tier_buffer.hpp"

namespace ghtier {
namespace {

using test::ReferenceAggregate;
using test::Tier;
using test::TierBuffer;

// Values whose blocks span up to 2^width - 1 above a base (the first block exactly, so the width is hit).
template <typename T>
std::vector<T> values_of_width(std::mt19937_64& rng, std::size_t rows, std::uint32_t width, std::int64_t base) {
  const std::uint64_t span = width == 0 ? 0 : (1ull << width) - 1;
  std::uniform_int_distribution<std::uint64_t> offset(0, span);
  std::vector<T> values(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    std::uint64_t o = offset(rng);
    if (i == 0) o = 0;
    if (i == 1) o = span;
    values[i] = static_cast<T>(static_cast<std::int64_t>(static_cast<std::uint64_t>(base) + o));
  }
  return values;
}

// A packed column placed in one tier (headers and words each in a buffer of that tier).
struct PackedInTier {
  TierBuffer blocks;
  TierBuffer words;
  BitpackedColumnView view;
};

template <typename T>
PackedInTier pack_into(Tier tier, const std::vector<T>& values) {
  const BitpackPlan plan = plan_bitpack(std::span<const T>(values));
  std::vector<BitpackBlockHeader> blocks(plan.blocks.size());
  std::vector<std::uint32_t> words(plan.word_count);
  BitpackedColumnView host = bitpack_into(std::span<const T>(values), plan, std::span(blocks), std::span(words));
  PackedInTier placed{TierBuffer(tier, blocks.size() * sizeof(BitpackBlockHeader)),
                      TierBuffer(tier, words.size() * sizeof(std::uint32_t)), host};
  if (test::gpu_reaches(tier)) {
    placed.blocks.upload(blocks.data(), blocks.size() * sizeof(BitpackBlockHeader));
    placed.words.upload(words.data(), words.size() * sizeof(std::uint32_t));
  } else {
    std::memcpy(placed.blocks.data(), blocks.data(), blocks.size() * sizeof(BitpackBlockHeader));
    std::memcpy(placed.words.data(), words.data(), words.size() * sizeof(std::uint32_t));
  }
  placed.view.blocks = reinterpret_cast<const BitpackBlockHeader*>(placed.blocks.data());
  placed.view.words = reinterpret_cast<const std::uint32_t*>(placed.words.data());
  return placed;
}

template <typename T>
void check_packed_aggregate(Tier tier, std::mt19937_64& rng, std::uint32_t width, std::size_t rows, std::int64_t base) {
  const std::vector<T> values = values_of_width<T>(rng, rows, width, base);
  PackedInTier packed = pack_into(tier, values);
  const std::string where = std::string(test::to_string(tier)) + " " + std::string(to_string(column_type_of<T>)) +
                            " width " + std::to_string(width) + " rows " + std::to_string(rows);
  if (!test::gpu_reaches(tier)) {
    if (rows > 0) EXPECT_GHTIER_ERROR((void)aggregate(packed.view), ErrorCode::unsupported);
    return;
  }
  test::TestStream stream;
  {
    ReferenceAggregate want;
    for (T v : values) want.add(v);
    test::expect_aggregate<T>(aggregate(packed.view, {}, stream.get()), want, where);
  }
  {  // on the decoded values: keep the lower half of the span
    const std::int64_t hi = base + static_cast<std::int64_t>(width == 0 ? 0 : ((1ull << width) - 1) / 2);
    AggregateOptions options;
    options.filter = RangeFilter::int_range(base, hi);
    ReferenceAggregate want;
    for (T v : values) {
      if (static_cast<std::int64_t>(v) >= base && static_cast<std::int64_t>(v) <= hi) want.add(v);
    }
    test::expect_aggregate<T>(aggregate(packed.view, options, stream.get()), want, where + " filter on values");
  }
  {  // on another (plain, float) column
    std::vector<float> other(rows);
    for (auto& f : other) f = std::uniform_real_distribution<float>(0, 1)(rng);
    TierBuffer other_buffer(tier, rows * sizeof(float));
    other_buffer.upload(other.data(), rows * sizeof(float));
    AggregateOptions options;
    options.filter =
        RangeFilter::float_range(column_view(reinterpret_cast<const float*>(other_buffer.data()), rows), 0.25, 0.5);
    ReferenceAggregate want;
    for (std::size_t i = 0; i < rows; ++i) {
      if (other[i] >= 0.25f && other[i] <= 0.5f) want.add(values[i]);
    }
    test::expect_aggregate<T>(aggregate(packed.view, options, stream.get()), want, where + " filter on a column");
  }
}

TEST(PackedAggregate, EveryWidthInt32) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  for (std::uint32_t width = 0; width <= 32; ++width) {
    const std::int64_t base = width == 32 ? std::numeric_limits<std::int32_t>::min() : -1000;
    check_packed_aggregate<std::int32_t>(Tier::pinned, rng, width, 10 * 1024 + 77, base);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(PackedAggregate, EveryWidthInt64) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  for (std::uint32_t width = 0; width <= 32; ++width) {
    check_packed_aggregate<std::int64_t>(Tier::pinned, rng, width, 6 * 1024 + 5, std::int64_t{-7} << 40);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(PackedAggregate, TiersAndLengths) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  for (Tier tier : {Tier::device, Tier::pinned, Tier::managed, Tier::system}) {
    for (std::size_t rows : {0u, 1u, 31u, 1024u, 1025u, 70001u}) {
      check_packed_aggregate<std::int32_t>(tier, rng, 12, rows, 5);
      check_packed_aggregate<std::int64_t>(tier, rng, 27, rows, std::numeric_limits<std::int64_t>::max() - (1ll << 27));
      if (::testing::Test::HasFailure()) return;
    }
  }
  if (!test::gpu_reaches(Tier::system)) test::note_system_tier_refused("PackedAggregate.TiersAndLengths");
}

TEST(PackedAggregate, BrokenHeadersAreReportedNotRead) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  const auto values = values_of_width<std::int32_t>(rng, 5 * 1024, 9, 0);
  PackedInTier packed = pack_into(Tier::device, values);
  // Block 2's width becomes 40, then block 3's offset points past the words.
  for (int variant = 0; variant < 2; ++variant) {
    const std::vector<unsigned char> original = packed.blocks.download();
    std::vector<BitpackBlockHeader> headers(5);
    std::memcpy(headers.data(), original.data(), original.size());
    if (variant == 0) headers[2].width = 40;
    if (variant == 1) headers[3].offset = 1u << 20;
    TierBuffer broken(Tier::device, headers.size() * sizeof(BitpackBlockHeader));
    broken.upload(headers.data(), headers.size() * sizeof(BitpackBlockHeader));
    BitpackedColumnView view = packed.view;
    view.blocks = reinterpret_cast<const BitpackBlockHeader*>(broken.data());
    try {
      (void)aggregate(view);
      ADD_FAILURE() << "expected Error(invalid_argument)";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(variant == 0 ? "block 2" : "block 3"), std::string::npos) << e.what();
    }
  }
}

template <typename K>
void check_packed_probe(Tier tier, std::mt19937_64& rng, std::uint32_t width, std::size_t rows) {
  // Build side: distinct keys in [base, base + 3000), with the key as payload; probe keys span the width.
  const std::int64_t base = width >= 31 ? -(std::int64_t{1} << 30) : 100;
  std::vector<K> build(3000);
  for (std::size_t i = 0; i < build.size(); ++i) build[i] = static_cast<K>(base + 2 * static_cast<std::int64_t>(i));
  TierBuffer build_buffer(Tier::pinned, build.size() * sizeof(K));
  build_buffer.upload(build.data(), build.size() * sizeof(K));
  const auto* b = reinterpret_cast<const K*>(build_buffer.data());
  const HashJoinTable table(column_view(b, build.size()), column_view(b, build.size()));
  const std::vector<K> probe = values_of_width<K>(rng, rows, width, base);
  PackedInTier packed = pack_into(tier, probe);
  const std::string where = std::string(test::to_string(tier)) + " " + std::string(to_string(column_type_of<K>)) +
                            " width " + std::to_string(width) + " rows " + std::to_string(rows);
  if (!test::gpu_reaches(tier)) {
    if (rows > 0) EXPECT_GHTIER_ERROR((void)table.probe(packed.view), ErrorCode::unsupported);
    return;
  }
  std::unordered_map<std::int64_t, std::uint64_t> build_row;
  for (std::size_t i = 0; i < build.size(); ++i) build_row[static_cast<std::int64_t>(build[i])] = i;
  std::uint64_t matches = 0;
  std::uint64_t sum = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> want_pairs;
  for (std::size_t r = 0; r < probe.size(); ++r) {
    const auto found = build_row.find(static_cast<std::int64_t>(probe[r]));
    if (found == build_row.end()) continue;
    ++matches;
    sum += static_cast<std::uint64_t>(static_cast<std::int64_t>(probe[r]));
    want_pairs.emplace_back(r, found->second);
  }
  TierBuffer pairs(Tier::device, (matches + 1) * sizeof(JoinPair));
  pairs.poison();
  const JoinResult got =
      table.probe(packed.view, JoinPairsOutput{reinterpret_cast<JoinPair*>(pairs.data()), matches + 1});
  SCOPED_TRACE(where);
  EXPECT_EQ(got.matches, matches);
  EXPECT_EQ(got.payload_sum_int, static_cast<std::int64_t>(sum));
  EXPECT_EQ(got.pairs_written, matches);
  EXPECT_EQ(got.pairs_overflowed, 0u);
  std::vector<JoinPair> raw(got.pairs_written);
  const auto bytes = pairs.download(0, raw.size() * sizeof(JoinPair));
  std::memcpy(raw.data(), bytes.data(), bytes.size());
  std::vector<std::pair<std::uint64_t, std::uint64_t>> got_pairs;
  for (const auto& p : raw) got_pairs.emplace_back(p.probe_row, p.build_row);
  std::sort(got_pairs.begin(), got_pairs.end());
  EXPECT_EQ(got_pairs, want_pairs);
}

TEST(PackedProbe, EveryWidthMatchesTheCpu) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  for (std::uint32_t width = 0; width <= 32; ++width) {
    check_packed_probe<std::int32_t>(Tier::pinned, rng, width, 20 * 1024 + 3);
    check_packed_probe<std::int64_t>(Tier::pinned, rng, width, 4 * 1024 + 1);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(PackedProbe, TiersAndLengths) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  for (Tier tier : {Tier::device, Tier::pinned, Tier::managed, Tier::system}) {
    for (std::size_t rows : {0u, 1u, 1023u, 1025u, 100001u}) {
      check_packed_probe<std::int32_t>(tier, rng, 12, rows);
      if (::testing::Test::HasFailure()) return;
    }
  }
  if (!test::gpu_reaches(Tier::system)) test::note_system_tier_refused("PackedProbe.TiersAndLengths");
}

TEST(PackedProbe, KeyTypeMustMatchTheTable) {
  GHTIER_REQUIRE_GPU();
  std::vector<std::int64_t> build(10, 1);
  TierBuffer build_buffer(Tier::pinned, build.size() * 8);
  build_buffer.upload(build.data(), build.size() * 8);
  const HashJoinTable table(column_view(reinterpret_cast<const std::int64_t*>(build_buffer.data()), build.size()),
                            std::nullopt);
  const std::vector<std::int32_t> probe(100, 1);
  PackedInTier packed = pack_into(Tier::pinned, probe);
  EXPECT_GHTIER_ERROR((void)table.probe(packed.view), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace ghtier
