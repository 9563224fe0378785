// BudgetAdaptor on a malloc-backed fake upstream: the limit, the error text, run-time limit changes,
// rollback when the upstream fails, and exact accounting under 16 threads.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fake_upstream.hpp"
#include "ghtier/memory/budget_adaptor.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

TEST(BudgetAdaptor, AllowsUpToTheLimitAndSaysWhyItRefuses) {
  test::FakeUpstream upstream(MemoryMode::pinned_host);
  BudgetAdaptor budget(upstream, 1000);
  EXPECT_EQ(budget.mode(), MemoryMode::pinned_host);
  void* a = budget.allocate(600);
  EXPECT_EQ(budget.used(), 600u);
  EXPECT_EQ(budget.available(), 400u);
  try {
    (void)budget.allocate(401);
    ADD_FAILURE() << "an allocation past the budget succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::out_of_budget);
    const std::string text = e.what();
    EXPECT_NE(text.find("requested 401"), std::string::npos) << text;
    EXPECT_NE(text.find("600"), std::string::npos) << text;
    EXPECT_NE(text.find("1000"), std::string::npos) << text;
    EXPECT_NE(text.find("pinned_host"), std::string::npos) << text;
  }
  EXPECT_EQ(upstream.allocations.load(), 1) << "the upstream was asked for a refused allocation";
  void* b = budget.allocate(400);  // exactly the rest
  EXPECT_EQ(budget.available(), 0u);
  budget.deallocate(a, 600);
  budget.deallocate(b, 400);
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(upstream.live_count(), 0u);
  EXPECT_EQ(upstream.mismatched_frees.load(), 0);
}

TEST(BudgetAdaptor, LimitChangesAtRunTime) {
  test::FakeUpstream upstream;
  BudgetAdaptor budget(upstream, 0);
  EXPECT_GHTIER_ERROR((void)budget.allocate(1), ErrorCode::out_of_budget);
  budget.set_limit(4096);
  void* a = budget.allocate(3000);
  budget.set_limit(1000);  // below what is in use: nothing is freed, later allocations fail
  EXPECT_EQ(budget.limit(), 1000u);
  EXPECT_EQ(budget.available(), 0u);
  EXPECT_GHTIER_ERROR((void)budget.allocate(1), ErrorCode::out_of_budget);
  budget.deallocate(a, 3000);
  void* b = budget.allocate(1000);
  budget.deallocate(b, 1000);
  EXPECT_EQ(budget.used(), 0u);
}

TEST(BudgetAdaptor, GivesBytesBackWhenTheUpstreamFails) {
  test::FakeUpstream upstream;
  BudgetAdaptor budget(upstream, 1 << 20);
  upstream.fail_next = 1;
  EXPECT_GHTIER_ERROR((void)budget.allocate(1 << 19), ErrorCode::out_of_memory);
  EXPECT_EQ(budget.used(), 0u);
  void* p = budget.allocate(1 << 20);  // the whole budget is still there
  budget.deallocate(p, 1 << 20);
}

TEST(BudgetAdaptor, RefusesInvalidArgumentsBeforeTheBudget) {
  test::FakeUpstream upstream;
  BudgetAdaptor budget(upstream, 100);
  EXPECT_GHTIER_ERROR((void)budget.allocate(0), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)budget.allocate(10, 3), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)budget.allocate(std::size_t{1} << 60), ErrorCode::invalid_argument);
  EXPECT_EQ(budget.used(), 0u);
  budget.deallocate(nullptr, 10);  // a no-op
  EXPECT_EQ(budget.used(), 0u);
}

TEST(BudgetAdaptor, SixteenThreadsGetExactlyTheBudget) {
  // Uniform blocks and everyone holding until all have tried: exactly limit / block allocations succeed.
  constexpr int threads = 16;
  constexpr std::size_t block = 4096;
  constexpr std::size_t blocks_allowed = 100;
  test::FakeUpstream upstream;
  BudgetAdaptor budget(upstream, block * blocks_allowed);
  std::atomic<int> granted{0};
  std::atomic<int> refused{0};
  std::atomic<int> wrong_errors{0};
  std::barrier all_tried(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      std::vector<void*> mine;
      for (int i = 0; i < 20; ++i) {
        try {
          mine.push_back(budget.allocate(block));
          ++granted;
        } catch (const Error& e) {
          if (e.code() == ErrorCode::out_of_budget) {
            ++refused;
          } else {
            ++wrong_errors;
          }
        }
      }
      all_tried.arrive_and_wait();
      for (void* p : mine) budget.deallocate(p, block);
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(granted.load(), static_cast<int>(blocks_allowed));
  EXPECT_EQ(refused.load(), threads * 20 - static_cast<int>(blocks_allowed));
  EXPECT_EQ(wrong_errors.load(), 0);
  EXPECT_EQ(upstream.peak_bytes.load(), block * blocks_allowed);
  EXPECT_EQ(budget.used(), 0u);
}

TEST(BudgetAdaptor, SixteenThreadsAtRandomSizesNeverPassTheLimit) {
  constexpr int threads = 16;
  constexpr std::size_t limit = 1 << 20;
  test::FakeUpstream upstream;
  BudgetAdaptor budget(upstream, limit);
  auto seed_rng = test::fresh_rng();
  std::vector<std::uint64_t> seeds;
  for (int t = 0; t < threads; ++t) seeds.push_back(seed_rng());
  std::atomic<bool> over{false};
  std::atomic<bool> running{true};
  // An observer that reads the budget while the threads work.
  std::thread observer([&] {
    while (running) {
      if (budget.used() > limit) over = true;
    }
  });
  std::atomic<int> refused{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(seeds[static_cast<std::size_t>(t)]);
      std::vector<std::pair<void*, std::size_t>> mine;
      for (int step = 0; step < 3000; ++step) {
        if (mine.empty() || rng() % 100 < 60) {
          const std::size_t bytes = 1 + rng() % 65536;
          try {
            mine.emplace_back(budget.allocate(bytes), bytes);
          } catch (const Error&) {
            ++refused;
          }
        } else {
          const std::size_t index = rng() % mine.size();
          budget.deallocate(mine[index].first, mine[index].second);
          mine[index] = mine.back();
          mine.pop_back();
        }
      }
      for (auto [p, bytes] : mine) budget.deallocate(p, bytes);
    });
  }
  for (auto& worker : workers) worker.join();
  running = false;
  observer.join();
  EXPECT_FALSE(over.load());
  EXPECT_LE(upstream.peak_bytes.load(), limit) << "the upstream held more than the budget at some instant";
  EXPECT_GT(refused.load(), 0) << "the budget was never reached: the refusal path went untested";
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(upstream.live_count(), 0u);
  EXPECT_EQ(upstream.mismatched_frees.load(), 0);
}

}  // namespace
}  // namespace ghtier
