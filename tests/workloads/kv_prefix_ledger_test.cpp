// The ledger's prefix reuse, file tier and expiry: explicit cases (lookup tiers, sharing with the owner,
// spilling to files under host pressure and reading back, two ledgers over one file store, a corrupt file,
// a bounded file tier, expiry before priority), then randomized runs against fake memories in which each
// token's "KV" is its token id, so that any session, adopted prefixes included, must read back exactly the
// ids it was given; the last run has 16 threads on one ledger, with invariants checked after every step.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "kv_ledger_harness.hpp"
#include "test_support.hpp"
#include "workloads/kv_cache/kv_block_ledger.hpp"

namespace ghtier::detail {
namespace {

using Harness = test::KvLedgerHarness;
using Expected = test::KvExpectedSession;
using test::FakeKvFileStore;
constexpr std::string_view salt = test::kv_test_salt;

using test::random_token_ids;

TEST(KvPrefixLedger, LookupFindsRegisteredBlocksInTheirTiersAndAdoptionSharesThem) {
  FakeKvFileStore files;
  Harness h(4, 16, 16, &files);
  std::mt19937_64 rng = test::fresh_rng();
  const auto ids = random_token_ids(14, rng);  // 3 full blocks and a partial one
  Expected e;
  const KvSessionId a = h.ledger.create();
  h.append(a, e, ids);
  const auto hashes = kv_prefix_hashes(ids, 4, salt);
  EXPECT_TRUE(h.ledger.lookup_prefix(hashes).tiers.empty());  // not registered yet
  h.register_prefix(a, e);
  EXPECT_EQ(h.ledger.lookup_prefix(hashes).tiers, std::vector<KvTier>(3, KvTier::device));
  // Another salt (another model) finds nothing.
  EXPECT_TRUE(h.ledger.lookup_prefix(kv_prefix_hashes(ids, 4, "other-model")).tiers.empty());
  // A query that diverges in the third block finds two.
  auto query = ids;
  query[9] += 1;
  EXPECT_EQ(h.ledger.lookup_prefix(kv_prefix_hashes(query, 4, salt)).tiers.size(), 2u);

  auto [b, eb] = h.from_prefix(query, 0);
  EXPECT_EQ(eb.tokens.size(), 8u);
  EXPECT_EQ(h.ledger.usage().device_slots_used, 4u);  // shared, not copied
  const auto ta = h.ledger.block_table(a), tb = h.ledger.block_table(b);
  EXPECT_EQ(ta[0], tb[0]);
  EXPECT_EQ(ta[1], tb[1]);
  h.verify(b, eb);
  // b appends its own tokens; a's blocks stay as they were.
  h.append(b, eb, random_token_ids(5, rng));
  h.verify(a, e);
  h.verify(b, eb);
  h.ledger.check_invariants();
  // Dropping the owner keeps the adopted blocks alive in b, and still findable.
  h.ledger.drop(a);
  EXPECT_EQ(h.ledger.lookup_prefix(hashes).tiers.size(), 2u);
  h.verify(b, eb);
  h.ledger.check_invariants();
}

TEST(KvPrefixLedger, HostPressureSpillsHashedBlocksToFilesAndResumeReadsThemBack) {
  FakeKvFileStore files;
  Harness h(2, 8, 3, &files);
  std::mt19937_64 rng = test::fresh_rng();
  Expected ea, eb;
  const KvSessionId a = h.ledger.create(), b = h.ledger.create();
  h.append(a, ea, random_token_ids(4, rng));
  h.register_prefix(a, ea);
  h.suspend(a, ea, true);  // 2 host slots
  h.append(b, eb, random_token_ids(4, rng));
  h.suspend(b, eb, true);  // needs 2, 1 free: a's last block goes to a file, not away
  EXPECT_EQ(h.ledger.tokens(a), 4u);
  EXPECT_EQ(files.writes, 1u);
  EXPECT_EQ(h.ledger.usage().file_blocks_used, 1u);
  const auto tiers = h.ledger.lookup_prefix(kv_prefix_hashes(ea.tokens, 2, salt)).tiers;
  EXPECT_EQ(tiers, (std::vector<KvTier>{KvTier::host, KvTier::file}));
  h.ledger.check_invariants();
  h.resume(b, eb);
  h.verify(b, eb);
  h.resume(a, ea);  // reads its file block into a host slot, then copies it to the device
  h.verify(a, ea);
  EXPECT_EQ(ea.tokens.size(), 4u);
  h.ledger.check_invariants();
  // Its blocks now have host copies and a file: a second spill writes nothing.
  h.suspend(a, ea, true);
  EXPECT_EQ(files.writes, 1u);
  h.ledger.check_invariants();
}

TEST(KvPrefixLedger, UnhashedBlocksAreDroppedNotSpilled) {
  FakeKvFileStore files;
  Harness h(2, 8, 3, &files);
  std::mt19937_64 rng = test::fresh_rng();
  Expected ea, eb;
  const KvSessionId a = h.ledger.create(), b = h.ledger.create();
  h.append(a, ea, random_token_ids(4, rng));  // not registered
  h.suspend(a, ea, true);
  h.append(b, eb, random_token_ids(4, rng));
  h.suspend(b, eb, true);
  EXPECT_EQ(h.ledger.tokens(a), 2u);
  EXPECT_EQ(files.writes, 0u);
  h.ledger.check_invariants();
}

TEST(KvPrefixLedger, ASecondLedgerFindsThePrefixThroughTheFiles) {
  FakeKvFileStore files;
  std::mt19937_64 rng = test::fresh_rng();
  const auto ids = random_token_ids(12, rng);
  {
    Harness first(4, 8, 3, &files);
    Expected e, filler;
    const KvSessionId a = first.ledger.create();
    first.append(a, e, ids);
    first.register_prefix(a, e);
    first.suspend(a, e, true);  // 3 host slots: all taken
    const KvSessionId f = first.ledger.create();
    first.append(f, filler, random_token_ids(12, rng));
    first.suspend(f, filler, true);  // spills all of a's blocks to files
    EXPECT_EQ(files.files.size(), 3u);
    first.ledger.drop(a);  // the files stay: they are the cross-process cache
    first.ledger.drop(f);
    first.ledger.check_invariants();
  }
  Harness second(4, 8, 4, &files);
  EXPECT_EQ(second.ledger.lookup_prefix(kv_prefix_hashes(ids, 4, salt)).tiers, std::vector<KvTier>(3, KvTier::file));
  auto [b, eb] = second.from_prefix(ids, 0);
  EXPECT_EQ(eb.tokens.size(), 12u);
  second.verify(b, eb);
  EXPECT_EQ(second.ledger.usage().file_blocks_used, 3u);
  EXPECT_EQ(second.ledger.usage().host_slots_used, 3u);  // kept after the restore
  second.ledger.check_invariants();
  // A third adopter finds them on the device now.
  EXPECT_EQ(second.ledger.lookup_prefix(kv_prefix_hashes(ids, 4, salt)).tiers, std::vector<KvTier>(3, KvTier::device));
}

TEST(KvPrefixLedger, ACorruptFileEndsThePrefixThereAndLosesNoOtherSession) {
  FakeKvFileStore files;
  std::mt19937_64 rng = test::fresh_rng();
  const auto ids = random_token_ids(12, rng);
  {
    Harness first(4, 8, 3, &files);
    Expected e, filler;
    const KvSessionId a = first.ledger.create();
    first.append(a, e, ids);
    first.register_prefix(a, e);
    first.suspend(a, e, true);
    const KvSessionId f = first.ledger.create();
    first.append(f, filler, random_token_ids(12, rng));
    first.suspend(f, filler, true);
  }
  files.corrupt.insert(kv_prefix_hashes(ids, 4, salt)[1]);
  Harness second(4, 8, 8, &files);
  Expected other;
  const KvSessionId o = second.ledger.create();
  second.append(o, other, random_token_ids(9, rng));
  auto [b, eb] = second.from_prefix(ids, 0);
  EXPECT_EQ(eb.tokens.size(), 4u);  // the first block only
  second.verify(b, eb);
  second.verify(o, other);
  EXPECT_EQ(files.files.count(kv_prefix_hashes(ids, 4, salt)[1]), 0u);  // the bad file is gone
  second.ledger.check_invariants();
}

TEST(KvPrefixLedger, ABoundedFileTierDropsItsLeastRecentlyUsedBlocks) {
  FakeKvFileStore files;
  Harness h(1, 8, 2, &files, 2);
  std::mt19937_64 rng = test::fresh_rng();
  std::vector<Expected> e(3);
  std::vector<KvSessionId> s;
  for (auto& x : e) {
    s.push_back(h.ledger.create());
    h.append(s.back(), x, random_token_ids(2, rng));
    h.register_prefix(s.back(), x);
    h.suspend(s.back(), x, true);
    h.ledger.check_invariants();
  }
  // Host 2 slots, files 2: the first session went to files, then the second's blocks pushed it out.
  EXPECT_EQ(h.ledger.usage().file_blocks_used, 2u);
  EXPECT_EQ(h.ledger.tokens(s[0]), 0u);
  EXPECT_EQ(h.ledger.tokens(s[1]), 2u);
  EXPECT_EQ(h.ledger.tokens(s[2]), 2u);
  for (std::size_t i = 0; i < 3; ++i) {
    h.resume(s[i], e[i]);
    h.verify(s[i], e[i]);
  }
  h.ledger.check_invariants();
}

TEST(KvPrefixLedger, ExpiredSessionsGoFirstAndAreDroppedNotSpilled) {
  FakeKvFileStore files;
  auto now = std::chrono::steady_clock::time_point{};
  Harness h(2, 8, 2, &files, 0, [&] { return now; });
  std::mt19937_64 rng = test::fresh_rng();
  Expected ea, eb, ec;
  const KvSessionId a = h.ledger.create(9), b = h.ledger.create(0), c = h.ledger.create(0);
  h.append(a, ea, random_token_ids(2, rng));
  h.register_prefix(a, ea);
  h.suspend(a, ea, true);
  h.append(b, eb, random_token_ids(2, rng));
  h.register_prefix(b, eb);
  h.suspend(b, eb, true);  // host full: a (high priority, not expired) and b
  h.ledger.set_expiry(a, now + std::chrono::seconds(10));
  now += std::chrono::seconds(11);
  h.append(c, ec, random_token_ids(2, rng));
  h.suspend(c, ec, true);  // a has expired: it goes first despite its priority, and is not spilled
  EXPECT_EQ(h.ledger.tokens(a), 0u);
  EXPECT_EQ(h.ledger.tokens(b), 2u);
  EXPECT_EQ(files.writes, 0u);
  h.ledger.check_invariants();
  EXPECT_GHTIER_ERROR(h.ledger.set_expiry(12345, std::nullopt), ErrorCode::not_found);
}

TEST(KvPrefixLedger, RefusesBadRegistrations) {
  FakeKvFileStore files;
  Harness h(4, 8, 8, &files);
  std::mt19937_64 rng = test::fresh_rng();
  Expected e;
  const KvSessionId a = h.ledger.create();
  h.append(a, e, random_token_ids(6, rng));
  const auto hashes = kv_prefix_hashes(e.tokens, 4, salt);
  const KvBlockHash two[] = {hashes[0], hashes[0] + 1};
  EXPECT_GHTIER_ERROR(h.ledger.register_prefix(a, two), ErrorCode::invalid_argument);  // 1 full block
  h.register_prefix(a, e);
  const KvBlockHash other[] = {hashes[0] + 1};
  EXPECT_GHTIER_ERROR(h.ledger.register_prefix(a, other), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(h.ledger.register_prefix(99, hashes), ErrorCode::not_found);
  h.ledger.check_invariants();
}

TEST(KvPrefixLedger, AFullDevicePoolRefusesAnAdoptionAndCreatesNoSession) {
  FakeKvFileStore files;
  Harness h(2, 2, 4, &files);
  std::mt19937_64 rng = test::fresh_rng();
  const auto ids = random_token_ids(4, rng);
  Expected e, busy;
  const KvSessionId a = h.ledger.create();
  h.append(a, e, ids);
  h.register_prefix(a, e);
  h.suspend(a, e, true);
  const KvSessionId u = h.ledger.create();
  h.append(u, busy, random_token_ids(4, rng));  // both device slots in use
  EXPECT_GHTIER_ERROR((void)h.ledger.create_from_prefix(kv_prefix_hashes(ids, 2, salt)), ErrorCode::out_of_budget);
  EXPECT_EQ(h.ledger.session_count(), 2u);
  h.ledger.check_invariants();
}

// Sessions draw their tokens from a few shared documents (so that prefixes repeat) until they diverge.
struct Docs {
  std::vector<std::vector<std::int32_t>> texts;
  explicit Docs(std::mt19937_64& rng) {
    for (int d = 0; d < 4; ++d) texts.push_back(random_token_ids(256, rng));
  }
  std::vector<std::int32_t> next(const Expected& e, std::size_t n, std::mt19937_64& rng) const {
    std::vector<std::int32_t> ids;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t t = e.tokens.size() + i;
      ids.push_back(e.diverged || t >= texts[e.doc].size() ? static_cast<std::int32_t>(rng() % 50000)
                                                           : texts[e.doc][t]);
    }
    return ids;
  }
};

void random_step(Harness& h, const Docs& docs, FakeKvFileStore& files, std::map<KvSessionId, Expected>& mine,
                 std::mt19937_64& rng) {
  const int op = static_cast<int>(rng() % 100);
  if (mine.empty() || op < 6) {
    Expected e;
    e.doc = rng() % docs.texts.size();
    mine[h.ledger.create(static_cast<int>(rng() % 3))] = e;
    return;
  }
  if (op < 14) {  // adopt a stored prefix of a document
    const std::size_t doc = rng() % docs.texts.size();
    const std::size_t length = 1 + rng() % docs.texts[doc].size();
    try {
      auto [id, e] = h.from_prefix(std::span(docs.texts[doc]).first(length), doc, static_cast<int>(rng() % 3));
      mine[id] = e;
      ASSERT_NO_FATAL_FAILURE(h.verify(id, mine[id]));
    } catch (const Error& err) {
      ASSERT_EQ(err.code(), ErrorCode::out_of_budget) << err.what();
    }
    return;
  }
  if (op < 17) {  // a lookup never names more than the document has
    const std::size_t doc = rng() % docs.texts.size();
    ASSERT_LE(h.ledger.lookup_prefix(kv_prefix_hashes(docs.texts[doc], h.tpb, salt)).tiers.size() * h.tpb,
              docs.texts[doc].size());
    return;
  }
  if (op < 18) {  // a block file goes bad
    std::lock_guard lock(files.mutex);
    if (!files.files.empty()) {
      auto it = files.files.begin();
      std::advance(it, static_cast<long>(rng() % files.files.size()));
      files.corrupt.insert(it->first);
    }
    return;
  }
  auto it = mine.begin();
  std::advance(it, static_cast<long>(rng() % mine.size()));
  const KvSessionId id = it->first;
  Expected& e = it->second;
  try {
    if (op < 45) {
      if (e.suspended) h.resume(id, e);
      if (rng() % 8 == 0) e.diverged = true;
      h.append(id, e, docs.next(e, 1 + rng() % 40, rng));
      if (!e.diverged || rng() % 2 == 0) h.register_prefix(id, e);
    } else if (op < 65) {
      if (!e.suspended) h.suspend(id, e, rng() % 2 == 0);
    } else if (op < 80) {
      if (!e.draining.empty()) h.release(e);
      if (e.suspended) h.resume(id, e);
    } else if (op < 88) {
      const KvSessionId f = h.ledger.fork(id);
      Expected copy = e;
      copy.draining.clear();
      mine[f] = copy;
    } else {
      if (!e.draining.empty()) h.release(e);
      h.ledger.drop(id);
      mine.erase(id);
      return;
    }
  } catch (const Error& err) {
    ASSERT_EQ(err.code(), ErrorCode::out_of_budget) << err.what();
  }
  if (mine.count(id)) {
    ASSERT_NO_FATAL_FAILURE(h.verify(id, mine[id]));
  }
}

void drop_all(Harness& h, std::map<KvSessionId, Expected>& mine) {
  for (auto& [id, e] : mine) {
    if (!e.draining.empty()) h.release(e);
    h.ledger.drop(id);
  }
  mine.clear();
}

TEST(KvPrefixLedger, RandomizedAgainstFakeMemoriesAndFiles) {
  std::mt19937_64 rng = test::fresh_rng();
  const Docs docs(rng);
  for (int round = 0; round < 20; ++round) {
    FakeKvFileStore files;
    Harness h(1 + rng() % 16, 8 + rng() % 64, 4 + rng() % 64, &files, rng() % 2 ? 0 : 4 + rng() % 64);
    std::map<KvSessionId, Expected> sessions;
    for (int step = 0; step < 400; ++step) {
      ASSERT_NO_FATAL_FAILURE(random_step(h, docs, files, sessions, rng));
      h.ledger.check_invariants();
      for (auto& [id, e] : sessions) ASSERT_NO_FATAL_FAILURE(h.verify(id, e));
    }
    drop_all(h, sessions);
    const KvTierUsage u = h.ledger.usage();
    EXPECT_EQ(u.device_slots_used, 0u);  // no block lost
    EXPECT_EQ(u.host_slots_used, 0u);
    EXPECT_EQ(u.file_blocks_used, 0u);
    h.ledger.check_invariants();
  }
}

TEST(KvPrefixLedger, SixteenThreadsAtOnce) {
  std::mt19937_64 seeds = test::fresh_rng();
  const Docs docs(seeds);
  FakeKvFileStore files;
  Harness h(16, 256, 256, &files, 512);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, seed = seeds()] {
      std::mt19937_64 rng(seed);
      std::map<KvSessionId, Expected> mine;
      for (int step = 0; step < 1000; ++step) {
        random_step(h, docs, files, mine, rng);
        try {
          h.ledger.check_invariants();
        } catch (const Error& e) {
          ADD_FAILURE() << e.what();
          ++failures;
          return;
        }
        for (auto& [id, e] : mine) {
          // Another thread may truncate a suspended session at any time: verify syncs those.
          h.verify(id, e);
        }
        if (::testing::Test::HasFailure()) return;
      }
      drop_all(h, mine);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(h.ledger.session_count(), 0u);
  EXPECT_EQ(h.ledger.usage().device_slots_used, 0u);
  EXPECT_EQ(h.ledger.usage().host_slots_used, 0u);
  EXPECT_EQ(h.ledger.usage().file_blocks_used, 0u);
  h.ledger.check_invariants();
}

}  // namespace
}  // namespace ghtier::detail
