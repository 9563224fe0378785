// GPU tests of HashJoinTable: build (key types x payload types x tiers) and probe (probe keys in every tier)
// against a CPU multimap join on fresh random data: unique and duplicate build keys, no matches, all keys
// equal, empty sides, misaligned probe columns; the matching pairs (exact set when they fit; a correct
// subset and the overflow flag when they do not); probe_async into poisoned memory; refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "aggregate_reference.hpp"
#include "ghtier/kernels/hash_join.hpp"
#include "test_support.hpp"
#include "tier_buffer.hpp"

namespace ghtier {
namespace {

using test::Tier;
using test::TierBuffer;

struct ReferenceJoin {
  std::uint64_t matches = 0;
  std::uint64_t sum_int = 0;
  long double sum_float = 0;
  long double abs_sum = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> pairs;  // sorted
};

template <typename K, typename P>
ReferenceJoin reference_join(const std::vector<K>& build, const std::vector<P>* payload, const std::vector<K>& probe,
                             std::size_t probe_offset, std::size_t probe_rows) {
  std::unordered_multimap<K, std::uint64_t> table;
  for (std::size_t i = 0; i < build.size(); ++i) table.emplace(build[i], i);
  ReferenceJoin want;
  for (std::size_t r = 0; r < probe_rows; ++r) {
    const auto [first, last] = table.equal_range(probe[probe_offset + r]);
    for (auto it = first; it != last; ++it) {
      ++want.matches;
      want.pairs.emplace_back(r, it->second);
      if (payload != nullptr) {
        const P p = (*payload)[it->second];
        if constexpr (std::is_integral_v<P>) {
          want.sum_int += static_cast<std::uint64_t>(static_cast<std::int64_t>(p));
        } else {
          want.sum_float += p;
          want.abs_sum += std::fabs(static_cast<long double>(p));
        }
      }
    }
  }
  std::sort(want.pairs.begin(), want.pairs.end());
  return want;
}

template <typename P>
void expect_join(const JoinResult& got, const ReferenceJoin& want, bool has_payload, const std::string& where) {
  SCOPED_TRACE(where);
  ASSERT_EQ(got.matches, want.matches);
  if (!has_payload) {
    EXPECT_EQ(got.payload_sum_int, 0);
    EXPECT_EQ(got.payload_sum_float, 0.0);
  } else if constexpr (std::is_integral_v<P>) {
    EXPECT_EQ(got.payload_sum_int, static_cast<std::int64_t>(want.sum_int));
    EXPECT_EQ(got.payload_sum_float, static_cast<double>(got.payload_sum_int));
  } else {
    EXPECT_EQ(got.payload_sum_int, 0);
    EXPECT_NEAR(got.payload_sum_float, static_cast<double>(want.sum_float),
                1e-9 * static_cast<double>(want.abs_sum) + 1e-9);
  }
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> read_pairs(const TierBuffer& buffer, std::uint64_t count) {
  std::vector<JoinPair> raw(count);
  const auto bytes = buffer.download(0, count * sizeof(JoinPair));
  std::memcpy(raw.data(), bytes.data(), bytes.size());
  std::vector<std::pair<std::uint64_t, std::uint64_t>> pairs;
  for (const auto& p : raw) pairs.emplace_back(p.probe_row, p.build_row);
  std::sort(pairs.begin(), pairs.end());
  return pairs;
}

// Build keys drawn from [0, key_range), probe keys from [-key_range/4, key_range * 5/4): some miss.
template <typename K, typename P>
void check_join(Tier build_tier, Tier probe_tier, std::mt19937_64& rng, std::size_t build_rows, std::size_t probe_rows,
                std::int64_t key_range, bool with_payload) {
  std::uniform_int_distribution<std::int64_t> build_key(0, key_range - 1);
  std::uniform_int_distribution<std::int64_t> probe_key(-key_range / 4, key_range + key_range / 4);
  std::vector<K> build(build_rows);
  for (auto& k : build) k = static_cast<K>(build_key(rng));
  std::vector<K> probe(probe_rows + 1);
  for (auto& k : probe) k = static_cast<K>(probe_key(rng));
  std::vector<P> payload(build_rows);
  if constexpr (std::is_integral_v<P>) {
    std::uniform_int_distribution<P> any(std::numeric_limits<P>::min(), std::numeric_limits<P>::max());
    for (auto& p : payload) p = any(rng);
  } else {
    std::uniform_real_distribution<P> any(-100, 100);
    for (auto& p : payload) p = any(rng);
  }
  const std::string where = std::string(test::to_string(build_tier)) + " build, " + test::to_string(probe_tier) +
                            " probe, keys " + std::string(to_string(column_type_of<K>)) + ", payload " +
                            (with_payload ? std::string(to_string(column_type_of<P>)) : std::string("none")) +
                            ", build " + std::to_string(build_rows) + ", probe " + std::to_string(probe_rows);
  TierBuffer build_keys(build_tier, build.size() * sizeof(K));
  TierBuffer build_payload(build_tier, payload.size() * sizeof(P));
  TierBuffer probe_keys(probe_tier, probe.size() * sizeof(K));
  if (!test::gpu_reaches(build_tier)) {
    EXPECT_GHTIER_ERROR(
        HashJoinTable(column_view(reinterpret_cast<const K*>(build_keys.data()), build_rows), std::nullopt),
        ErrorCode::unsupported);
    return;
  }
  build_keys.upload(build.data(), build.size() * sizeof(K));
  build_payload.upload(payload.data(), payload.size() * sizeof(P));
  test::TestStream stream;
  const std::optional<ColumnView> payload_view =
      with_payload
          ? std::optional<ColumnView>(column_view(reinterpret_cast<const P*>(build_payload.data()), build_rows))
          : std::nullopt;
  const HashJoinTable table(column_view(reinterpret_cast<const K*>(build_keys.data()), build_rows), payload_view,
                            stream.get());
  EXPECT_EQ(table.build_rows(), build_rows);
  EXPECT_EQ(table.key_type(), column_type_of<K>);
  if (!test::gpu_reaches(probe_tier)) {
    std::memcpy(probe_keys.data(), probe.data(), probe.size() * sizeof(K));
    EXPECT_GHTIER_ERROR((void)table.probe(column_view(reinterpret_cast<const K*>(probe_keys.data()), probe_rows)),
                        ErrorCode::unsupported);
    return;
  }
  probe_keys.upload(probe.data(), probe.size() * sizeof(K));
  for (std::size_t offset : {std::size_t{0}, std::size_t{1}}) {
    const ColumnView probe_view = column_view(reinterpret_cast<const K*>(probe_keys.data()) + offset, probe_rows);
    const ReferenceJoin want =
        reference_join<K, P>(build, with_payload ? &payload : nullptr, probe, offset, probe_rows);
    const std::string here = where + ", offset " + std::to_string(offset);
    expect_join<P>(table.probe(probe_view, {}, stream.get()), want, with_payload, here);
    // Every pair, into poisoned device memory with room to spare.
    TierBuffer pairs(Tier::device, (want.matches + 8) * sizeof(JoinPair));
    pairs.poison();
    const JoinResult with_pairs = table.probe(
        probe_view, JoinPairsOutput{reinterpret_cast<JoinPair*>(pairs.data()), want.matches + 8}, stream.get());
    expect_join<P>(with_pairs, want, with_payload, here + " with pairs");
    EXPECT_EQ(with_pairs.pairs_written, want.matches);
    EXPECT_EQ(with_pairs.pairs_overflowed, 0u);
    EXPECT_EQ(read_pairs(pairs, with_pairs.pairs_written), want.pairs) << here;
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(HashJoin, KeyAndPayloadTypesOverTiers) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  for (Tier probe_tier : {Tier::device, Tier::pinned, Tier::managed, Tier::system}) {
    check_join<std::int32_t, std::int64_t>(Tier::pinned, probe_tier, rng, 10007, 200003, 20000, true);
    check_join<std::int64_t, double>(Tier::pinned, probe_tier, rng, 10007, 200003, 20000, true);
  }
  for (Tier build_tier : {Tier::device, Tier::managed, Tier::system}) {
    check_join<std::int32_t, float>(build_tier, Tier::pinned, rng, 5003, 50001, 8000, true);
    check_join<std::int64_t, std::int32_t>(build_tier, Tier::pinned, rng, 5003, 50001, 8000, true);
  }
  check_join<std::int32_t, std::int32_t>(Tier::pinned, Tier::pinned, rng, 5003, 50001, 8000, false);
  check_join<std::int64_t, std::int64_t>(Tier::device, Tier::managed, rng, 5003, 50001, 8000, false);
  if (!test::gpu_reaches(Tier::system)) test::note_system_tier_refused("HashJoin.KeyAndPayloadTypesOverTiers");
}

TEST(HashJoin, DuplicateBuildKeysJoinManyToMany) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  // 20000 build rows over 500 keys: about 40 build rows a key.
  check_join<std::int32_t, std::int64_t>(Tier::pinned, Tier::pinned, rng, 20000, 30001, 500, true);
  check_join<std::int64_t, float>(Tier::device, Tier::pinned, rng, 20000, 30001, 500, true);
  // All keys equal on both sides: every probe row matches every build row.
  check_join<std::int32_t, std::int64_t>(Tier::pinned, Tier::pinned, rng, 300, 1001, 1, true);
}

TEST(HashJoin, NoMatchesAndEmptySides) {
  GHTIER_REQUIRE_GPU();
  std::vector<std::int32_t> build(1000);
  std::vector<std::int32_t> probe(5000);
  for (std::size_t i = 0; i < build.size(); ++i) build[i] = static_cast<std::int32_t>(i);
  for (std::size_t i = 0; i < probe.size(); ++i) probe[i] = static_cast<std::int32_t>(100000 + i);
  TierBuffer build_buffer(Tier::pinned, build.size() * 4);
  TierBuffer probe_buffer(Tier::pinned, probe.size() * 4);
  build_buffer.upload(build.data(), build.size() * 4);
  probe_buffer.upload(probe.data(), probe.size() * 4);
  const auto* b = reinterpret_cast<const std::int32_t*>(build_buffer.data());
  const auto* p = reinterpret_cast<const std::int32_t*>(probe_buffer.data());
  const HashJoinTable table(column_view(b, build.size()), column_view(b, build.size()));
  const JoinResult none = table.probe(column_view(p, probe.size()));
  EXPECT_EQ(none.matches, 0u);
  EXPECT_EQ(none.payload_sum_int, 0);
  const JoinResult empty_probe = table.probe(column_view(p, 0));
  EXPECT_EQ(empty_probe.matches, 0u);
  const HashJoinTable empty_build(column_view(b, 0), std::nullopt);
  EXPECT_EQ(empty_build.layout().capacity, 16u);
  EXPECT_EQ(empty_build.probe(column_view(b, build.size())).matches, 0u);
  // One row each, matching.
  const HashJoinTable one(column_view(b + 7, 1), column_view(b + 7, 1));
  const JoinResult single = one.probe(column_view(b + 7, 1));
  EXPECT_EQ(single.matches, 1u);
  EXPECT_EQ(single.payload_sum_int, 7);
}

TEST(HashJoin, PairsBeyondTheCapacityAreDroppedAndReported) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  std::vector<std::int64_t> build(4000);
  std::vector<std::int64_t> probe(100000);
  std::uniform_int_distribution<std::int64_t> key(0, 3999);
  for (std::size_t i = 0; i < build.size(); ++i) build[i] = static_cast<std::int64_t>(i);
  for (auto& k : probe) k = key(rng);  // every probe row matches exactly one build row
  TierBuffer build_buffer(Tier::device, build.size() * 8);
  TierBuffer probe_buffer(Tier::pinned, probe.size() * 8);
  build_buffer.upload(build.data(), build.size() * 8);
  probe_buffer.upload(probe.data(), probe.size() * 8);
  const HashJoinTable table(column_view(reinterpret_cast<const std::int64_t*>(build_buffer.data()), build.size()),
                            std::nullopt);
  constexpr std::uint64_t capacity = 1000;
  TierBuffer pairs(Tier::pinned, capacity * sizeof(JoinPair));
  pairs.poison();
  const JoinResult got =
      table.probe(column_view(reinterpret_cast<const std::int64_t*>(probe_buffer.data()), probe.size()),
                  JoinPairsOutput{reinterpret_cast<JoinPair*>(pairs.data()), capacity});
  EXPECT_EQ(got.matches, probe.size());
  EXPECT_EQ(got.pairs_written, capacity);
  EXPECT_EQ(got.pairs_overflowed, 1u);
  const auto written = read_pairs(pairs, capacity);
  for (std::size_t i = 0; i < written.size(); ++i) {
    const auto [probe_row, build_row] = written[i];
    ASSERT_LT(probe_row, probe.size());
    ASSERT_EQ(static_cast<std::int64_t>(build_row), probe[probe_row]);
    if (i > 0) {
      ASSERT_NE(written[i - 1], written[i]) << "a pair was written twice";
    }
  }
}

TEST(HashJoin, ProbeAsyncIntoPoisonedMemory) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  std::vector<std::int32_t> build(3000);
  std::vector<double> payload(3000);
  std::vector<std::int32_t> probe(40000);
  std::uniform_int_distribution<std::int32_t> key(0, 5999);
  for (auto& k : build) k = key(rng);
  for (auto& p : payload) p = std::uniform_real_distribution<double>(-1, 1)(rng);
  for (auto& k : probe) k = key(rng);
  TierBuffer build_buffer(Tier::pinned, build.size() * 4);
  TierBuffer payload_buffer(Tier::pinned, payload.size() * 8);
  TierBuffer probe_buffer(Tier::managed, probe.size() * 4);
  build_buffer.upload(build.data(), build.size() * 4);
  payload_buffer.upload(payload.data(), payload.size() * 8);
  probe_buffer.upload(probe.data(), probe.size() * 4);
  test::TestStream stream;
  const HashJoinTable table(column_view(reinterpret_cast<const std::int32_t*>(build_buffer.data()), build.size()),
                            column_view(reinterpret_cast<const double*>(payload_buffer.data()), payload.size()),
                            stream.get());
  const ReferenceJoin want = reference_join<std::int32_t, double>(build, &payload, probe, 0, probe.size());
  for (Tier tier : {Tier::device, Tier::pinned, Tier::managed}) {
    TierBuffer out(tier, sizeof(JoinResult));
    out.poison();
    table.probe_async(column_view(reinterpret_cast<const std::int32_t*>(probe_buffer.data()), probe.size()), {},
                      reinterpret_cast<JoinResult*>(out.data()), stream.get());
    stream.sync();
    JoinResult got;
    const auto bytes = out.download(0, sizeof(got));
    std::memcpy(&got, bytes.data(), sizeof(got));
    expect_join<double>(got, want, true, std::string("async into ") + test::to_string(tier));
    EXPECT_EQ(got.pairs_written, 0u);
    EXPECT_EQ(got.pairs_overflowed, 0u);
  }
}

TEST(HashJoin, RefusesMismatchedKeysAndUnreachableMemory) {
  GHTIER_REQUIRE_GPU();
  std::vector<std::int32_t> build(100, 1);
  TierBuffer build_buffer(Tier::pinned, build.size() * 4);
  build_buffer.upload(build.data(), build.size() * 4);
  const HashJoinTable table(column_view(reinterpret_cast<const std::int32_t*>(build_buffer.data()), build.size()),
                            std::nullopt);
  TierBuffer wide(Tier::pinned, 100 * 8);
  EXPECT_GHTIER_ERROR((void)table.probe(column_view(reinterpret_cast<const std::int64_t*>(wide.data()), 100)),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)table.probe(column_view(reinterpret_cast<const std::int32_t*>(build_buffer.data()), 100),
                                        JoinPairsOutput{nullptr, 10}),
                      ErrorCode::invalid_argument);
  HashJoinTable moved =
      HashJoinTable(column_view(reinterpret_cast<const std::int32_t*>(build_buffer.data()), 10), std::nullopt);
  HashJoinTable target = std::move(moved);
  EXPECT_GHTIER_ERROR((void)moved.probe(column_view(reinterpret_cast<const std::int32_t*>(build_buffer.data()), 10)),
                      ErrorCode::invalid_argument);
  EXPECT_EQ(target.probe(column_view(reinterpret_cast<const std::int32_t*>(build_buffer.data()), 10)).matches, 100u);
  if (!test::gpu_reaches(Tier::system)) {
    EXPECT_GHTIER_ERROR((void)table.probe(column_view(build.data(), build.size())), ErrorCode::unsupported);
    std::vector<JoinPair> pageable_pairs(10);
    EXPECT_GHTIER_ERROR((void)table.probe(column_view(reinterpret_cast<const std::int32_t*>(build_buffer.data()), 10),
                                          JoinPairsOutput{pageable_pairs.data(), pageable_pairs.size()}),
                        ErrorCode::unsupported);
  }
}

}  // namespace
}  // namespace ghtier
