// StatisticsAdaptor on a malloc-backed fake upstream: current, peak, counts, totals, failures, reset_peak,
// and exact counts under 16 threads (with a snapshot taken while every thread holds its blocks).
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <random>
#include <thread>
#include <vector>

#include "fake_upstream.hpp"
#include "ghtier/memory/budget_adaptor.hpp"
#include "ghtier/memory/statistics_adaptor.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

TEST(StatisticsAdaptor, CountsCurrentPeakAndTotals) {
  test::FakeUpstream upstream(MemoryMode::managed);
  StatisticsAdaptor stats(upstream);
  AllocationStatistics s = stats.statistics();
  EXPECT_EQ(s.mode, MemoryMode::managed);
  EXPECT_EQ(s.current_bytes, 0u);
  EXPECT_EQ(s.total_allocations, 0u);

  void* a = stats.allocate(100);
  void* b = stats.allocate(300, 4096);
  s = stats.statistics();
  EXPECT_EQ(s.current_bytes, 400u);
  EXPECT_EQ(s.peak_bytes, 400u);
  EXPECT_EQ(s.current_allocations, 2u);
  EXPECT_EQ(s.total_allocations, 2u);
  EXPECT_EQ(s.total_bytes, 400u);

  stats.deallocate(b, 300, 4096);
  void* c = stats.allocate(50);
  s = stats.statistics();
  EXPECT_EQ(s.current_bytes, 150u);
  EXPECT_EQ(s.peak_bytes, 400u);
  EXPECT_EQ(s.current_allocations, 2u);
  EXPECT_EQ(s.total_allocations, 3u);
  EXPECT_EQ(s.total_bytes, 450u);

  stats.reset_peak();
  EXPECT_EQ(stats.statistics().peak_bytes, 150u);
  stats.deallocate(a, 100);
  stats.deallocate(c, 50);
  s = stats.statistics();
  EXPECT_EQ(s.current_bytes, 0u);
  EXPECT_EQ(s.current_allocations, 0u);
  EXPECT_EQ(s.peak_bytes, 150u);
  EXPECT_EQ(upstream.live_count(), 0u);
  EXPECT_EQ(upstream.mismatched_frees.load(), 0);
}

TEST(StatisticsAdaptor, CountsFailuresWithoutChangingUsage) {
  test::FakeUpstream upstream;
  StatisticsAdaptor stats(upstream);
  upstream.fail_next = 2;
  EXPECT_GHTIER_ERROR((void)stats.allocate(10), ErrorCode::out_of_memory);
  EXPECT_GHTIER_ERROR((void)stats.allocate(0), ErrorCode::invalid_argument);
  const AllocationStatistics s = stats.statistics();
  EXPECT_EQ(s.failed_allocations, 2u);
  EXPECT_EQ(s.total_allocations, 0u);
  EXPECT_EQ(s.current_bytes, 0u);
  EXPECT_EQ(s.peak_bytes, 0u);
}

TEST(StatisticsAdaptor, StacksOverABudgetAndSeesItsRefusals) {
  test::FakeUpstream upstream(MemoryMode::device);
  BudgetAdaptor budget(upstream, 1000);
  StatisticsAdaptor stats(budget);
  EXPECT_EQ(stats.mode(), MemoryMode::device);
  void* p = stats.allocate(800);
  EXPECT_GHTIER_ERROR((void)stats.allocate(800), ErrorCode::out_of_budget);
  EXPECT_EQ(stats.statistics().failed_allocations, 1u);
  EXPECT_EQ(stats.statistics().current_bytes, 800u);
  stats.deallocate(p, 800);
  EXPECT_EQ(budget.used(), 0u);
}

TEST(StatisticsAdaptor, SixteenThreadsCountExactly) {
  constexpr int threads = 16;
  constexpr int per_thread = 500;
  test::FakeUpstream upstream;
  StatisticsAdaptor stats(upstream);
  auto seed_rng = test::fresh_rng();
  std::vector<std::uint64_t> seeds;
  for (int t = 0; t < threads; ++t) seeds.push_back(seed_rng());
  std::atomic<std::uint64_t> total_bytes{0};
  std::atomic<std::size_t> held_at_barrier{0};
  std::atomic<std::size_t> largest{0};
  AllocationStatistics at_barrier;
  std::barrier holding(threads, [&]() noexcept { at_barrier = stats.statistics(); });
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(seeds[static_cast<std::size_t>(t)]);
      std::vector<std::pair<void*, std::size_t>> mine;
      // Churn: allocate and free at random.
      for (int i = 0; i < per_thread; ++i) {
        const std::size_t bytes = 1 + rng() % 10000;
        mine.emplace_back(stats.allocate(bytes), bytes);
        total_bytes += bytes;
        std::size_t seen = largest.load();
        while (bytes > seen && !largest.compare_exchange_weak(seen, bytes)) {}
        if (rng() % 2 == 0) {
          const std::size_t index = rng() % mine.size();
          stats.deallocate(mine[index].first, mine[index].second);
          mine[index] = mine.back();
          mine.pop_back();
        }
      }
      std::size_t held = 0;
      for (const auto& entry : mine) held += entry.second;
      held_at_barrier += held;
      holding.arrive_and_wait();  // the completion step snapshots while every thread still holds `mine`
      for (auto [p, bytes] : mine) stats.deallocate(p, bytes);
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(at_barrier.current_bytes, held_at_barrier.load());
  EXPECT_GE(at_barrier.peak_bytes, at_barrier.current_bytes);
  const AllocationStatistics s = stats.statistics();
  EXPECT_EQ(s.total_allocations, static_cast<std::uint64_t>(threads * per_thread));
  EXPECT_EQ(s.total_bytes, total_bytes.load());
  EXPECT_EQ(s.current_bytes, 0u);
  EXPECT_EQ(s.current_allocations, 0u);
  EXPECT_GE(s.peak_bytes, largest.load());
  EXPECT_LE(s.peak_bytes, total_bytes.load());
  // The adaptor counts after the upstream allocated and before it frees, so it never sees more than the upstream.
  EXPECT_LE(s.peak_bytes, upstream.peak_bytes.load());
}

}  // namespace
}  // namespace ghtier
