// The KV store's block accounting: explicit cases (copy on write, stale host copies, eviction order and
// priorities, blocks in use never evicted, a full host tier, draining slots), then randomized runs against an
// independent reference: fake device and host memories to which every returned copy is applied, and each
// session's expected token contents; after every step the invariants hold and every active session's block
// table reads back exactly its tokens. Last, 16 threads at once on one ledger.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "kv_ledger_harness.hpp"
#include "test_support.hpp"
#include "workloads/kv_cache/kv_block_ledger.hpp"

namespace ghtier::detail {
namespace {

using Harness = test::KvLedgerHarness;
using Expected = test::KvExpectedSession;
using test::random_token_ids;

TEST(KvBlockLedger, AppendFillsBlocksAndTablesAreDistinct) {
  KvBlockLedger ledger(4, 8, 8);
  const KvSessionId a = ledger.create(), b = ledger.create();
  EXPECT_EQ(ledger.append(a, 5).new_blocks.size(), 2u);
  EXPECT_EQ(ledger.append(a, 3).new_blocks.size(), 0u);  // fills the second block
  EXPECT_EQ(ledger.append(a, 1).new_blocks.size(), 1u);
  EXPECT_EQ(ledger.append(b, 4).new_blocks.size(), 1u);
  const auto ta = ledger.block_table(a), tb = ledger.block_table(b);
  EXPECT_EQ(ta.size(), 3u);
  EXPECT_EQ(ledger.tokens(a), 9u);
  for (auto s : ta) EXPECT_EQ(std::count(tb.begin(), tb.end(), s), 0);
  EXPECT_EQ(ledger.usage().device_slots_used, 4u);
  ledger.check_invariants();
}

TEST(KvBlockLedger, ForkSharesFullBlocksAndCopiesAPartlyFilledOneOnWrite) {
  KvBlockLedger ledger(4, 8, 8);
  const KvSessionId a = ledger.create();
  (void)ledger.append(a, 6);
  const KvSessionId b = ledger.fork(a);
  EXPECT_EQ(ledger.block_table(a), ledger.block_table(b));
  EXPECT_EQ(ledger.usage().device_slots_used, 2u);
  const KvAppendResult r = ledger.append(b, 1);
  ASSERT_EQ(r.copies.copies.size(), 1u);
  const auto ta = ledger.block_table(a), tb = ledger.block_table(b);
  EXPECT_EQ(ta[0], tb[0]);  // the full block stays shared
  EXPECT_NE(ta[1], tb[1]);
  EXPECT_EQ(r.copies.copies[0].from_slot, ta[1]);
  EXPECT_EQ(r.copies.copies[0].to_slot, tb[1]);
  EXPECT_TRUE(ledger.append(a, 1).copies.copies.empty());  // a's block is its own now
  ledger.drop(a);
  EXPECT_EQ(ledger.usage().device_slots_used, 2u);
  ledger.check_invariants();
}

TEST(KvBlockLedger, SuspendCopiesOutOnceAndResumeKeepsTheHostCopy) {
  KvBlockLedger ledger(4, 8, 8);
  const KvSessionId a = ledger.create();
  (void)ledger.append(a, 8);
  KvCopyPlan out = ledger.suspend(a);
  EXPECT_EQ(out.copies.size(), 2u);
  EXPECT_EQ(out.device_slots_to_release.size(), 2u);
  EXPECT_EQ(ledger.usage().device_slots_draining, 2u);
  ledger.release_device_slots(out.device_slots_to_release);
  EXPECT_EQ(ledger.usage().device_slots_used, 0u);
  EXPECT_EQ(ledger.resume(a).copies.size(), 2u);
  EXPECT_EQ(ledger.usage().host_slots_used, 2u);  // kept
  out = ledger.suspend(a);
  EXPECT_TRUE(out.copies.empty());  // a second eviction costs no copy
  ledger.release_device_slots(out.device_slots_to_release);
  ledger.check_invariants();
}

TEST(KvBlockLedger, AppendingToABlockDropsItsStaleHostCopy) {
  Harness h(4, 4, 4);
  std::mt19937_64 rng = test::fresh_rng();
  Expected e;
  const KvSessionId a = h.ledger.create();
  h.append(a, e, random_token_ids(6, rng));
  h.suspend(a, e, true);
  h.resume(a, e);
  h.append(a, e, random_token_ids(1, rng));  // the second block changes: its host copy is stale
  EXPECT_EQ(h.ledger.usage().host_slots_used, 1u);
  h.suspend(a, e, true);
  h.resume(a, e);
  h.verify(a, e);
  h.ledger.check_invariants();
}

TEST(KvBlockLedger, BlocksInUseOrDrainingAreNeverEvicted) {
  KvBlockLedger ledger(1, 4, 16);
  const KvSessionId a = ledger.create(), b = ledger.create(), c = ledger.create();
  for (KvSessionId s : {a, b}) (void)ledger.append(s, 1);
  (void)ledger.suspend(a);                                                   // draining until released
  (void)ledger.append(c, 2);                                                 // the two free slots
  EXPECT_GHTIER_ERROR((void)ledger.append(c, 1), ErrorCode::out_of_budget);  // b in use, a draining
  EXPECT_EQ(ledger.tokens(c), 2u);                                           // the failed append changed nothing
  EXPECT_EQ(ledger.block_table(b).size(), 1u);
  ledger.check_invariants();
}

// Two sessions whose blocks stay on the device after suspend, because a fork used them until it dropped:
// unused blocks with a host copy, the first candidates under pressure.
struct CachedPair {
  KvBlockLedger ledger{1, 3, 16};
  KvSessionId first = 0, second = 0;
  CachedPair(int first_priority, int second_priority) {
    first = ledger.create(first_priority);
    second = ledger.create(second_priority);
    for (KvSessionId s : {first, second}) {
      (void)ledger.append(s, 1);
      const KvSessionId f = ledger.fork(s);
      EXPECT_TRUE(ledger.suspend(s).device_slots_to_release.empty());  // the fork still uses the block
      ledger.drop(f);
    }
  }
  // Takes one device slot under pressure, then says which session's block is gone (a resume copies it).
  KvSessionId evicted_one() {
    const KvSessionId user = ledger.create();
    (void)ledger.append(user, 1);  // the free slot
    (void)ledger.append(user, 1);  // evicts one
    ledger.drop(user);
    const bool first_gone = !ledger.resume(first).copies.empty();
    const bool second_gone = !ledger.resume(second).copies.empty();
    EXPECT_NE(first_gone, second_gone);
    ledger.check_invariants();
    return first_gone ? first : second;
  }
};

TEST(KvBlockLedger, EvictionTakesTheLeastRecentlyUsedFirst) {
  CachedPair pair(0, 0);
  EXPECT_EQ(pair.evicted_one(), pair.first);
}

TEST(KvBlockLedger, EvictionTakesTheLowerPriorityFirst) {
  CachedPair pair(5, 0);
  EXPECT_EQ(pair.evicted_one(), pair.second);
  CachedPair other(0, 5);
  EXPECT_EQ(other.evicted_one(), other.first);
}

// Regression: resume once evicted the session's own device-cached blocks to make room for its others.
TEST(KvBlockLedger, ResumeNeverEvictsItsOwnBlocks) {
  KvBlockLedger ledger(1, 2, 8);
  const KvSessionId a = ledger.create();
  (void)ledger.append(a, 2);
  const KvSessionId f = ledger.fork(a);
  (void)ledger.suspend(a);
  ledger.drop(f);  // a's two blocks: on the device, unused, with host copies
  const KvSessionId c = ledger.create();
  (void)ledger.append(c, 1);  // evicts one of a's blocks
  EXPECT_GHTIER_ERROR((void)ledger.resume(a), ErrorCode::out_of_budget);
  EXPECT_TRUE(ledger.suspended(a));
  ledger.check_invariants();
  ledger.drop(c);
  EXPECT_EQ(ledger.resume(a).copies.size(), 1u);
  EXPECT_EQ(ledger.block_table(a).size(), 2u);
  ledger.check_invariants();
}

TEST(KvBlockLedger, UndoSuspendRestoresTheSessionAsItWas) {
  KvBlockLedger ledger(2, 4, 4);
  const KvSessionId a = ledger.create();
  (void)ledger.append(a, 3);
  const auto table = ledger.block_table(a);
  const KvCopyPlan plan = ledger.suspend(a);
  ledger.undo_suspend(a, plan);
  EXPECT_FALSE(ledger.suspended(a));
  EXPECT_EQ(ledger.block_table(a), table);
  EXPECT_EQ(ledger.usage().host_slots_used, 0u);
  EXPECT_EQ(ledger.usage().device_slots_draining, 0u);
  ledger.check_invariants();
  EXPECT_GHTIER_ERROR(ledger.undo_suspend(a, plan), ErrorCode::invalid_argument);
}

TEST(KvBlockLedger, FullHostTierIsAClearErrorAndLosesNothing) {
  KvBlockLedger ledger(1, 8, 2);
  const KvSessionId a = ledger.create(), b = ledger.create();
  (void)ledger.append(a, 2);
  (void)ledger.append(b, 1);
  (void)ledger.suspend(a);  // takes both host slots; its blocks drain (still on the device): not droppable
  try {
    (void)ledger.suspend(b);
    ADD_FAILURE() << "suspend into a full host tier succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::out_of_budget);
    EXPECT_NE(std::string(e.what()).find("host tier is full"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(ledger.suspended(b));
  EXPECT_EQ(ledger.block_table(b).size(), 1u);
  EXPECT_EQ(ledger.tokens(a), 2u);
  ledger.check_invariants();
}

TEST(KvBlockLedger, HostPressureDropsTheOldestHostOnlyBlocksAndTruncates) {
  Harness h(2, 8, 3);
  std::mt19937_64 rng = test::fresh_rng();
  Expected ea, eb;
  const KvSessionId a = h.ledger.create(), b = h.ledger.create();
  h.append(a, ea, random_token_ids(4, rng));
  h.suspend(a, ea, true);  // 2 host slots, a off the device
  h.append(b, eb, random_token_ids(4, rng));
  h.suspend(b, eb, true);  // needs 2, 1 is free: drops a's last block, a keeps its first
  EXPECT_EQ(h.ledger.tokens(a), 2u);
  EXPECT_EQ(h.ledger.tokens(b), 4u);
  h.resume(b, eb);
  h.verify(b, eb);
  h.verify(a, ea);
  h.ledger.check_invariants();
}

TEST(KvBlockLedger, RefusesBadCalls) {
  EXPECT_GHTIER_ERROR(KvBlockLedger(0, 1, 1), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(KvBlockLedger(16, 0, 1), ErrorCode::invalid_argument);
  KvBlockLedger ledger(4, 4, 4);
  EXPECT_GHTIER_ERROR((void)ledger.append(42, 1), ErrorCode::not_found);
  EXPECT_GHTIER_ERROR(ledger.drop(42), ErrorCode::not_found);
  const KvSessionId a = ledger.create();
  EXPECT_GHTIER_ERROR((void)ledger.append(a, 0), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)ledger.resume(a), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)ledger.append(a, 17), ErrorCode::out_of_budget);
  EXPECT_EQ(ledger.tokens(a), 0u);
  (void)ledger.append(a, 3);
  (void)ledger.suspend(a);
  EXPECT_GHTIER_ERROR((void)ledger.suspend(a), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)ledger.append(a, 1), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)ledger.block_table(a), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(ledger.release_device_slots({99}), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(ledger.release_device_slots({1}), ErrorCode::invalid_argument);  // never handed out
  ledger.check_invariants();
}

// One random step on a session of this thread's own.
void random_step(Harness& h, std::map<KvSessionId, Expected>& mine, std::mt19937_64& rng) {
  const int op = static_cast<int>(rng() % 100);
  if (mine.empty() || op < 10) {
    mine[h.ledger.create(static_cast<int>(rng() % 3))];
    return;
  }
  auto it = mine.begin();
  std::advance(it, static_cast<long>(rng() % mine.size()));
  const KvSessionId id = it->first;
  Expected& e = it->second;
  try {
    if (op < 45) {
      if (e.suspended) h.resume(id, e);
      h.append(id, e, random_token_ids(1 + rng() % 40, rng));
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
    ASSERT_EQ(err.code(), ErrorCode::out_of_budget) << err.what();  // pressure is the only expected failure
  }
  if (mine.count(id)) h.verify(id, mine[id]);
}

TEST(KvBlockLedger, RandomizedAgainstFakeMemories) {
  std::mt19937_64 rng = test::fresh_rng();
  for (int round = 0; round < 20; ++round) {
    Harness h(1 + rng() % 16, 8 + rng() % 64, 8 + rng() % 128);
    std::map<KvSessionId, Expected> sessions;
    for (int step = 0; step < 400; ++step) {
      ASSERT_NO_FATAL_FAILURE(random_step(h, sessions, rng));
      h.ledger.check_invariants();
      for (auto& [id, e] : sessions) ASSERT_NO_FATAL_FAILURE(h.verify(id, e));
    }
    for (auto& [id, e] : sessions) {
      if (!e.draining.empty()) h.release(e);
      h.ledger.drop(id);
    }
    const KvTierUsage u = h.ledger.usage();
    EXPECT_EQ(u.device_slots_used, 0u);  // no block lost
    EXPECT_EQ(u.host_slots_used, 0u);
    h.ledger.check_invariants();
  }
}

TEST(KvBlockLedger, SixteenThreadsAtOnce) {
  Harness h(16, 512, 1024);
  std::mt19937_64 seeds = test::fresh_rng();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, seed = seeds()] {
      std::mt19937_64 rng(seed);
      std::map<KvSessionId, Expected> mine;
      for (int step = 0; step < 1500; ++step) {
        random_step(h, mine, rng);
        try {
          h.ledger.check_invariants();
        } catch (const Error& e) {
          ADD_FAILURE() << e.what();
          ++failures;
          return;
        }
        if (::testing::Test::HasFailure()) return;
      }
      for (auto& [id, e] : mine) {
        if (!e.draining.empty()) h.release(e);
        h.ledger.drop(id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(h.ledger.session_count(), 0u);
  EXPECT_EQ(h.ledger.usage().device_slots_used, 0u);
  EXPECT_EQ(h.ledger.usage().host_slots_used, 0u);
  h.ledger.check_invariants();
}

}  // namespace
}  // namespace ghtier::detail
