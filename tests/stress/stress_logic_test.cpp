// CPU tests of the stress test's deciding pieces: the budget ledger against fake budgets (correct, leaky and
// over-strict ones, under 16 threads), the operation mix, the byte patterns, the hang watchdog's board, the
// options and the report.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <latch>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "budget_ledger.hpp"
#include "byte_pattern.hpp"
#include "heartbeat_board.hpp"
#include "operation_mix.hpp"
#include "stress_options.hpp"
#include "stress_report.hpp"
#include "test_support.hpp"

using namespace ghtier;
using namespace ghtier::stress;

namespace {

constexpr std::size_t none = static_cast<std::size_t>(-1);

/// A stand-in for a runtime tier: a budget that is correct, leaky (never refuses) or over-strict (refuses a
/// fixed share of what fits).
class FakeTier {
 public:
  enum class Kind { correct, leaky, strict };
  FakeTier(std::size_t limit, Kind kind) : limit_(limit), kind_(kind) {}
  /// True when granted.
  bool allocate(std::size_t bytes) {
    if (kind_ == Kind::strict && bytes * 2 > limit_) return false;  // refuses large requests that would fit
    std::size_t used = used_.load();
    for (;;) {
      if (kind_ != Kind::leaky && (used > limit_ || bytes > limit_ - used)) return false;
      if (used_.compare_exchange_weak(used, used + bytes)) return true;
    }
  }
  void free(std::size_t bytes) { used_.fetch_sub(bytes); }
  [[nodiscard]] std::size_t used() const { return used_.load(); }

 private:
  std::size_t limit_;
  Kind kind_;
  std::atomic<std::size_t> used_{0};
};

/// 16 threads allocate and free random sizes through `tier`, following the ledger's protocol.
void hammer(BudgetLedger& ledger, FakeTier& tier, MemoryMode mode, int rounds) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1000 + t);
      std::vector<std::size_t> held;
      for (int i = 0; i < rounds; ++i) {
        if (!held.empty() && (rng() % 2 == 0 || held.size() > 4)) {
          const std::size_t bytes = held.back();
          held.pop_back();
          ledger.begin_free(mode, bytes);
          tier.free(bytes);
          ledger.end_free(mode, bytes);
          continue;
        }
        const std::size_t bytes = 1 + rng() % 4096;
        const auto attempt = ledger.begin_allocation(mode, bytes);
        if (tier.allocate(bytes)) {
          ledger.allocation_succeeded(attempt);
          held.push_back(bytes);
        } else {
          ledger.allocation_refused(attempt);
        }
        if (i % 16 == 0) ledger.observe_runtime(mode, tier.used(), tier.used(), tier.used());
      }
      for (std::size_t bytes : held) {
        ledger.begin_free(mode, bytes);
        tier.free(bytes);
        ledger.end_free(mode, bytes);
      }
    });
  }
  for (auto& th : threads) th.join();
}

bool any_contains(const std::vector<std::string>& texts, const std::string& word) {
  for (const auto& t : texts) {
    if (t.find(word) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST(BudgetLedger, ACorrectBudgetUnderSixteenThreadsShowsNoViolationAndRefusals) {
  BudgetLedger ledger({8000, none, none, none});
  FakeTier tier(8000, FakeTier::Kind::correct);
  hammer(ledger, tier, MemoryMode::device, 3000);
  EXPECT_TRUE(ledger.violations().empty()) << ledger.violations().front();
  const TierTally t = ledger.tally(MemoryMode::device);
  EXPECT_GT(t.refusals, 0u) << "the budget was meant to be tight";
  EXPECT_GT(t.allocations, 0u);
  EXPECT_LE(t.peak_held, 8000u);
  EXPECT_EQ(t.held, 0u);
  EXPECT_EQ(t.claimed, 0u);
  EXPECT_EQ(ledger.open_attempts(), 0u);
  EXPECT_GT(t.runtime_samples, 0u);
}

TEST(BudgetLedger, ABudgetThatNeverRefusesIsCaught) {
  BudgetLedger ledger({8000, none, none, none});
  FakeTier tier(8000, FakeTier::Kind::leaky);
  hammer(ledger, tier, MemoryMode::device, 3000);
  const auto v = ledger.violations();
  ASSERT_FALSE(v.empty());
  EXPECT_TRUE(any_contains(v, "past the budget")) << v.front();
}

TEST(BudgetLedger, ARefusalWithRoomToSpareIsCaught) {
  BudgetLedger ledger({none, 1 << 20, none, none});
  FakeTier tier(1 << 20, FakeTier::Kind::strict);
  const auto a = ledger.begin_allocation(MemoryMode::pinned_host, 600 << 10);
  ASSERT_FALSE(tier.allocate(600 << 10));
  ledger.allocation_refused(a);
  const auto v = ledger.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(any_contains(v, "refused as out of budget")) << v.front();
  EXPECT_EQ(ledger.tally(MemoryMode::pinned_host).claimed, 0u);
}

TEST(BudgetLedger, ARefusalCausedByAConcurrentClaimIsDeserved) {
  BudgetLedger ledger({1000, none, none, none});
  // B starts while A's claim is open; A is granted; B's refusal was deserved (600 + 600 > 1000) even though
  // A is freed before B's call returns.
  const auto b = ledger.begin_allocation(MemoryMode::device, 600);
  const auto a = ledger.begin_allocation(MemoryMode::device, 600);
  ledger.allocation_succeeded(a);
  ledger.begin_free(MemoryMode::device, 600);
  ledger.end_free(MemoryMode::device, 600);
  ledger.allocation_refused(b);
  EXPECT_TRUE(ledger.violations().empty()) << ledger.violations().front();
  // The same refusal with nobody else claiming is not.
  const auto c = ledger.begin_allocation(MemoryMode::device, 600);
  ledger.allocation_refused(c);
  EXPECT_EQ(ledger.violations().size(), 1u);
}

TEST(BudgetLedger, HeldPastTheBudgetIsAViolationAtOnce) {
  BudgetLedger ledger({1000, none, none, none});
  const auto a = ledger.begin_allocation(MemoryMode::device, 700);
  ledger.allocation_succeeded(a);
  EXPECT_TRUE(ledger.violations().empty());
  const auto b = ledger.begin_allocation(MemoryMode::device, 301);
  ledger.allocation_succeeded(b);  // a runtime that granted this passed its budget
  ASSERT_EQ(ledger.violations().size(), 1u);
  EXPECT_NE(ledger.violations()[0].find("1001"), std::string::npos) << ledger.violations()[0];
}

TEST(BudgetLedger, FailedAndCancelledOperationsRestoreTheCounts) {
  BudgetLedger ledger({1000, none, none, none});
  const auto a = ledger.begin_allocation(MemoryMode::device, 400);
  ledger.allocation_failed(a);
  EXPECT_EQ(ledger.tally(MemoryMode::device).claimed, 0u);
  EXPECT_EQ(ledger.tally(MemoryMode::device).failures, 1u);
  const auto b = ledger.begin_allocation(MemoryMode::device, 400);
  ledger.allocation_succeeded(b);
  ledger.begin_free(MemoryMode::device, 400);  // a relocation that then fails keeps the buffer
  EXPECT_EQ(ledger.tally(MemoryMode::device).held, 0u);
  ledger.cancel_free(MemoryMode::device, 400);
  EXPECT_EQ(ledger.tally(MemoryMode::device).held, 400u);
  EXPECT_EQ(ledger.tally(MemoryMode::device).claimed, 400u);
  EXPECT_TRUE(ledger.violations().empty());
}

TEST(BudgetLedger, RuntimeSamplesPastTheBudgetAreViolations) {
  BudgetLedger ledger({none, none, 5000, none});
  ledger.observe_runtime(MemoryMode::managed, 5000, 5000, 5000);
  EXPECT_TRUE(ledger.violations().empty());
  ledger.observe_runtime(MemoryMode::managed, 100, 100, 5001);  // the statistics' peak passed it once
  ASSERT_EQ(ledger.violations().size(), 1u);
  EXPECT_NE(ledger.violations()[0].find("managed"), std::string::npos);
  EXPECT_EQ(ledger.tally(MemoryMode::managed).runtime_peak_used, 5000u);
}

TEST(BudgetLedger, UnknownAttemptsAndOverFreesAreReported) {
  BudgetLedger ledger({1000, none, none, none});
  EXPECT_THROW(ledger.allocation_succeeded(12345), std::logic_error);
  ledger.begin_free(MemoryMode::device, 10);
  EXPECT_TRUE(any_contains(ledger.violations(), "test bug"));
}

namespace {
MixOptions full_mix() {
  MixOptions o;
  o.modes = {MemoryMode::device, MemoryMode::pinned_host, MemoryMode::managed, MemoryMode::system};
  o.gpu_modes = {MemoryMode::device, MemoryMode::pinned_host, MemoryMode::managed};
  o.prefetch_modes = {MemoryMode::managed};
  o.shared_modes = o.modes;
  return o;
}
}  // namespace

TEST(OperationMix, CoversEveryKindAndDirectionAndOnlyWhatThePlatformAllows) {
  auto rng = test::fresh_rng();
  const MixOptions options = full_mix();
  OperationMix mix(options, rng());
  std::map<StressOp, int> kinds;
  std::set<std::pair<MemoryMode, MemoryMode>> copy_dirs, batch_dirs, gather_dirs;
  std::set<MemoryMode> allocated, prefetched;
  std::set<std::size_t> widths;
  bool shared_source = false;
  std::size_t held = 0;
  for (int i = 0; i < 20000; ++i) {
    const PlannedOp op = mix.next(held);
    ++kinds[op.kind];
    EXPECT_GE(op.bytes, 1u);
    EXPECT_LE(op.bytes, options.max_bytes);
    switch (op.kind) {
      case StressOp::allocate:
        ASSERT_LT(held, options.max_held);
        EXPECT_GE(op.bytes, options.min_bytes);
        allocated.insert(op.from);
        ++held;
        break;
      case StressOp::free:
        ASSERT_GT(held, 0u);
        EXPECT_LT(op.held_index, held);
        --held;
        break;
      case StressOp::relocate:
        ASSERT_GT(held, 0u);
        EXPECT_LT(op.held_index, held);
        break;
      case StressOp::copy:
        copy_dirs.insert({op.from, op.to});
        shared_source = shared_source || op.from_shared;
        break;
      case StressOp::batch:
        batch_dirs.insert({op.from, op.to});
        EXPECT_GE(op.items, 1u);
        EXPECT_LE(op.items, options.max_batch_items);
        EXPECT_GE(op.bytes, op.items);
        break;
      case StressOp::prefetch:
        EXPECT_EQ(op.from, MemoryMode::managed);
        prefetched.insert(op.from);
        break;
      case StressOp::gather:
        EXPECT_NE(op.from, MemoryMode::system) << "the GPU cannot read system memory here";
        EXPECT_NE(op.to, MemoryMode::system);
        gather_dirs.insert({op.from, op.to});
        widths.insert(op.items);
        EXPECT_EQ(op.bytes % op.items, 0u) << "whole rows";
        break;
    }
  }
  for (StressOp kind : all_stress_ops) EXPECT_GT(kinds[kind], 100) << to_string(kind);
  EXPECT_EQ(copy_dirs.size(), 16u);
  EXPECT_EQ(batch_dirs.size(), 16u);
  EXPECT_EQ(gather_dirs.size(), 9u);
  EXPECT_EQ(allocated.size(), 4u);
  EXPECT_EQ(widths.size(), gather_row_widths.size());
  EXPECT_TRUE(shared_source);
}

TEST(OperationMix, TheFirstRoundDoesEveryKindOnce) {
  OperationMix mix(full_mix(), 11);
  std::set<StressOp> first;
  std::size_t held = 0;
  for (std::size_t i = 0; i < stress_op_count; ++i) {
    const PlannedOp op = mix.next(held);
    EXPECT_TRUE(first.insert(op.kind).second) << to_string(op.kind) << " twice in the first round";
    if (op.kind == StressOp::allocate) ++held;
    if (op.kind == StressOp::free) --held;
  }
  EXPECT_EQ(first.size(), stress_op_count);
  // A refused first allocation (nothing kept) postpones free and relocate, not the others.
  OperationMix refused(full_mix(), 12);
  EXPECT_EQ(refused.next(0).kind, StressOp::allocate);
  std::set<StressOp> next;
  for (int i = 0; i < 4; ++i) next.insert(refused.next(0).kind);
  EXPECT_EQ(next, (std::set<StressOp>{StressOp::copy, StressOp::batch, StressOp::prefetch, StressOp::gather}));
  EXPECT_EQ(refused.next(1).kind, StressOp::relocate);
  EXPECT_EQ(refused.next(1).kind, StressOp::free);
}

TEST(OperationMix, APlatformWithoutManagedOrGpuReachableMemoryNeverDrawsThem) {
  MixOptions options;
  options.modes = {MemoryMode::system};
  OperationMix mix(options, 7);
  EXPECT_FALSE(mix.possible(StressOp::prefetch));
  EXPECT_FALSE(mix.possible(StressOp::gather));
  EXPECT_FALSE(mix.possible(StressOp::relocate));
  std::size_t held = 0;
  for (int i = 0; i < 2000; ++i) {
    const PlannedOp op = mix.next(held);
    EXPECT_NE(op.kind, StressOp::prefetch);
    EXPECT_NE(op.kind, StressOp::gather);
    EXPECT_NE(op.kind, StressOp::relocate);
    if (op.kind == StressOp::allocate) ++held;
    if (op.kind == StressOp::free) --held;
  }
}

TEST(OperationMix, RefusesOptionsThatCannotWork) {
  EXPECT_THROW(OperationMix(MixOptions{}, 1), std::invalid_argument);
  MixOptions o = full_mix();
  o.min_bytes = 0;
  EXPECT_THROW(OperationMix(o, 1), std::invalid_argument);
  o = full_mix();
  o.min_bytes = o.max_bytes + 1;
  EXPECT_THROW(OperationMix(o, 1), std::invalid_argument);
  o = full_mix();
  o.max_held = 0;
  EXPECT_THROW(OperationMix(o, 1), std::invalid_argument);
}

TEST(StressSimulation, SixteenThreadsOfTheMixOverFakeTiersKeepTheLedgerRight) {
  // The GPU test's protocol with fake tiers in place of the runtime: kept buffers, transient buffers of copies
  // and batches, relocations (the new allocation claimed, the old one let go, undone on refusal). A correct
  // budget gives no violation and refusals in every tier; the ledger ends at zero.
  constexpr std::size_t budget = 256 << 10;  // a same-tier copy of two 128+ KiB buffers cannot fit
  std::array<std::unique_ptr<FakeTier>, 4> tiers;
  for (auto& t : tiers) t = std::make_unique<FakeTier>(budget, FakeTier::Kind::correct);
  BudgetLedger ledger({budget, budget, budget, budget});
  MixOptions options = full_mix();
  options.max_bytes = 256 << 10;
  struct Kept {
    MemoryMode mode;
    std::size_t bytes;
  };
  const auto allocate = [&](MemoryMode mode, std::size_t bytes) {
    const auto attempt = ledger.begin_allocation(mode, bytes);
    if (!tiers[index_of(mode)]->allocate(bytes)) {
      ledger.allocation_refused(attempt);
      return false;
    }
    ledger.allocation_succeeded(attempt);
    return true;
  };
  const auto release = [&](MemoryMode mode, std::size_t bytes) {
    ledger.begin_free(mode, bytes);
    tiers[index_of(mode)]->free(bytes);
    ledger.end_free(mode, bytes);
  };
  std::latch start(16);  // all at once, so that their kept buffers add up
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      OperationMix mix(options, 77 + t);
      std::vector<Kept> kept;
      for (int i = 0; i < 2000; ++i) {
        const PlannedOp op = mix.next(kept.size());
        switch (op.kind) {
          case StressOp::allocate:
            if (allocate(op.from, op.bytes)) kept.push_back({op.from, op.bytes});
            break;
          case StressOp::free:
            release(kept[op.held_index].mode, kept[op.held_index].bytes);
            kept.erase(kept.begin() + static_cast<std::ptrdiff_t>(op.held_index));
            break;
          case StressOp::relocate: {
            Kept& k = kept[op.held_index];
            if (op.to == k.mode) break;
            const auto attempt = ledger.begin_allocation(op.to, k.bytes);
            ledger.begin_free(k.mode, k.bytes);
            if (!tiers[index_of(op.to)]->allocate(k.bytes)) {
              ledger.cancel_free(k.mode, k.bytes);
              ledger.allocation_refused(attempt);
              break;
            }
            ledger.allocation_succeeded(attempt);
            tiers[index_of(k.mode)]->free(k.bytes);
            ledger.end_free(k.mode, k.bytes);
            k.mode = op.to;
            break;
          }
          default: {  // copy, batch, prefetch, gather: transient source and destination
            if (!allocate(op.from, op.bytes)) break;
            if (allocate(op.to, op.bytes)) release(op.to, op.bytes);
            release(op.from, op.bytes);
          }
        }
      }
      for (const Kept& k : kept) release(k.mode, k.bytes);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(ledger.violations().empty()) << ledger.violations().front();
  EXPECT_EQ(ledger.open_attempts(), 0u);
  for (MemoryMode mode : all_memory_modes) {
    const TierTally t = ledger.tally(mode);
    EXPECT_EQ(t.held, 0u) << to_string(mode);
    EXPECT_EQ(t.claimed, 0u) << to_string(mode);
    EXPECT_EQ(tiers[index_of(mode)]->used(), 0u) << to_string(mode);
    EXPECT_GT(t.refusals, 0u) << to_string(mode);
    EXPECT_LE(t.peak_held, budget) << to_string(mode);
  }
}

TEST(BytePattern, ASliceChecksAgainstItsOffsetAndAWrongByteIsFoundWhereItIs) {
  auto rng = test::fresh_rng();
  const std::uint64_t seed = rng();
  std::vector<unsigned char> whole(10007);
  fill_pattern(whole.data(), whole.size(), seed);
  EXPECT_FALSE(first_pattern_mismatch(whole.data(), whole.size(), seed).has_value());
  // Any slice, filled on its own at its offset, equals the same bytes of the whole.
  for (int i = 0; i < 200; ++i) {
    const std::size_t offset = rng() % whole.size();
    const std::size_t n = rng() % (whole.size() - offset);
    std::vector<unsigned char> slice(n);
    fill_pattern(slice.data(), n, seed, offset);
    ASSERT_EQ(0, std::memcmp(slice.data(), whole.data() + offset, n)) << offset << " " << n;
    ASSERT_FALSE(first_pattern_mismatch(whole.data() + offset, n, seed, offset).has_value());
    EXPECT_EQ(pattern_byte(seed, offset), whole[offset]);
  }
  const std::size_t bad = rng() % whole.size();
  whole[bad] ^= 0x10;
  EXPECT_EQ(first_pattern_mismatch(whole.data(), whole.size(), seed), bad);
  EXPECT_TRUE(first_pattern_mismatch(whole.data(), whole.size(), seed + 1).has_value()) << "another seed differs";
  std::vector<unsigned char> poison(100, 0xA5);
  EXPECT_FALSE(first_byte_not(poison.data(), poison.size(), 0xA5).has_value());
  poison[63] = 0;
  EXPECT_EQ(first_byte_not(poison.data(), poison.size(), 0xA5), 63u);
}

TEST(HeartbeatBoard, NamesTheThreadAndOperationThatRanTooLong) {
  HeartbeatBoard board(3);
  const auto t0 = HeartbeatBoard::Clock::now();
  const auto timeout = std::chrono::seconds(30);
  board.beat(0, "copy device->system 4096 B", t0);
  board.beat(1, "gather", t0 + std::chrono::seconds(20));
  board.beat(2, "free", t0);
  board.finish(2);
  EXPECT_FALSE(board.stale(t0 + std::chrono::seconds(29), timeout).has_value());
  const auto stale = board.stale(t0 + std::chrono::seconds(31), timeout);
  ASSERT_TRUE(stale.has_value());
  EXPECT_NE(stale->find("thread 0: copy device->system 4096 B"), std::string::npos) << *stale;
  board.beat(0, "next", t0 + std::chrono::seconds(31));
  EXPECT_FALSE(board.stale(t0 + std::chrono::seconds(40), timeout).has_value());
  EXPECT_THROW(board.beat(3, "x", t0), std::out_of_range);
}

TEST(StressOptions, DefaultsEnvironmentAndCommandLine) {
  std::map<std::string, std::string> env;
  const auto getenv = [&env](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  StressOptions o = parse_stress_options(getenv, {});
  EXPECT_EQ(o.threads, 16u);
  EXPECT_EQ(o.seconds, 60);
  EXPECT_TRUE(o.json_path.empty());
  EXPECT_TRUE(o.require_refusals);
  EXPECT_EQ(tight_budget_bytes(o), std::size_t{16} * 256 * 1024);
  EXPECT_EQ(tight_budget_bytes(parse_stress_options(getenv, {"--threads", "32"})), std::size_t{32} * 256 * 1024);
  env = {{"GHTIER_STRESS_SECONDS", "7.5"},
         {"GHTIER_STRESS_THREADS", "4"},
         {"GHTIER_STRESS_JSON", "/tmp/s.json"},
         {"GHTIER_STRESS_REQUIRE_REFUSALS", "0"}};
  o = parse_stress_options(getenv, {});
  EXPECT_EQ(o.seconds, 7.5);
  EXPECT_EQ(o.threads, 4u);
  EXPECT_EQ(o.json_path, "/tmp/s.json");
  EXPECT_FALSE(o.require_refusals);
  EXPECT_EQ(tight_budget_bytes(o), std::size_t{4} << 20) << "never below 4 MiB";
  o = parse_stress_options(getenv, {"--threads", "2", "--budget-kib", "100"});
  EXPECT_EQ(o.threads, 2u) << "the command line wins";
  EXPECT_EQ(tight_budget_bytes(o), std::size_t{100} * 1024);
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"--threads", "0"},
                                              {"--threads", "2.5"},
                                              {"--seconds", "-1"},
                                              {"--seconds", "x"},
                                              {"--seconds"},
                                              {"--frobnicate", "1"},
                                              {"--budget-kib", "0"}}) {
    EXPECT_THROW((void)parse_stress_options(getenv, bad), std::invalid_argument) << bad[0];
  }
  env = {{"GHTIER_STRESS_THREADS", "many"}};
  try {
    (void)parse_stress_options(getenv, {});
    ADD_FAILURE() << "expected a refusal";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("GHTIER_STRESS_THREADS"), std::string::npos) << e.what();
  }
}

TEST(StressReport, CountsBecomeOperationsPerSecondInTheTableAndTheJson) {
  StressCounters counters;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&counters] {
      for (int i = 0; i < 1000; ++i) counters.done(StressOp::copy, 10);
      counters.refused(StressOp::copy);
    });
  }
  for (auto& th : threads) th.join();
  StressReport report;
  report.threads = 8;
  report.seconds = 2;
  for (StressOp kind : all_stress_ops) report.kinds[index_of(kind)] = counters.count(kind);
  EXPECT_EQ(report.kinds[index_of(StressOp::copy)].done, 8000u);
  EXPECT_EQ(report.kinds[index_of(StressOp::copy)].refused, 8u);
  TierTally device;
  device.budget = 4096;
  device.refusals = 3;
  report.tiers = {{MemoryMode::device, device}, {MemoryMode::system, TierTally{none}}};
  const std::string table = format_report(report);
  EXPECT_NE(table.find("4000.0"), std::string::npos) << table;  // 8000 copies in 2 s
  EXPECT_NE(table.find("no problems"), std::string::npos) << table;
  const auto json = report_json(report);
  EXPECT_EQ(json["operations"]["copy"]["ops_per_second"], 4000.0);
  EXPECT_EQ(json["operations"]["copy"]["bytes"], 80000u);
  EXPECT_EQ(json["tiers"]["device"]["budget_bytes"], 4096u);
  EXPECT_TRUE(json["tiers"]["system"]["budget_bytes"].is_null());
  EXPECT_EQ(json["passed"], true);
  report.problems = {"something"};
  EXPECT_EQ(report_json(report)["passed"], false);
  EXPECT_NE(format_report(report).find("1 problems"), std::string::npos);
}
