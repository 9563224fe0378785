// Budgets on real device memory: a BudgetAdaptor (with statistics stacked on it) over a DevicePoolResource
// holds under 16 threads allocating and freeing at random sizes, synchronously and stream-ordered.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <random>
#include <thread>
#include <vector>

#include "core/support/cuda_check.hpp"
#include "ghtier/memory/budget_adaptor.hpp"
#include "ghtier/memory/device_pool_resource.hpp"
#include "ghtier/memory/pinned_host_resource.hpp"
#include "ghtier/memory/statistics_adaptor.hpp"
#include "memory_test_kernels.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;

template <typename Upstream>
void run_sixteen_threads(Upstream& upstream, std::size_t limit, std::size_t max_bytes) {
  BudgetAdaptor budget(upstream, limit);
  StatisticsAdaptor stats(budget);
  auto seed_rng = test::fresh_rng();
  std::vector<std::uint64_t> seeds;
  for (int t = 0; t < 16; ++t) seeds.push_back(seed_rng());
  std::atomic<bool> running{true};
  std::atomic<bool> over{false};
  std::thread observer([&] {
    while (running) {
      if (budget.used() > limit) over = true;
    }
  });
  std::atomic<int> refused{0};
  std::atomic<int> other_errors{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 16; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(seeds[static_cast<std::size_t>(t)]);
      cudaStream_t stream = nullptr;
      GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
      struct Live {
        void* p;
        std::size_t bytes;
        bool async;
      };
      std::vector<Live> mine;
      for (int step = 0; step < 400; ++step) {
        if (mine.empty() || rng() % 100 < 60) {
          const std::size_t bytes = 1 + rng() % max_bytes;
          const bool async = rng() % 2 == 0;
          try {
            void* p = async ? stats.allocate_async(bytes, default_alignment, stream) : stats.allocate(bytes);
            GHTIER_CUDA_CHECK(test::launch_add_one(static_cast<unsigned char*>(p), bytes, stream));
            mine.push_back({p, bytes, async});
          } catch (const Error& e) {
            if (e.code() == ErrorCode::out_of_budget) {
              ++refused;
            } else {
              ADD_FAILURE() << e.what();
              ++other_errors;
            }
          }
        } else {
          const std::size_t index = rng() % mine.size();
          const Live entry = mine[index];
          mine[index] = mine.back();
          mine.pop_back();
          if (entry.async) {
            stats.deallocate_async(entry.p, entry.bytes, default_alignment, stream);
          } else {
            GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));  // the kernel must finish before a plain free
            stats.deallocate(entry.p, entry.bytes);
          }
        }
      }
      GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
      for (const Live& entry : mine) stats.deallocate(entry.p, entry.bytes);
      GHTIER_CUDA_CHECK(cudaStreamDestroy(stream));
    });
  }
  for (auto& worker : workers) worker.join();
  running = false;
  observer.join();
  EXPECT_FALSE(over.load()) << "the budget's usage passed its limit";
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_GT(refused.load(), 0) << "the limit was never reached: the refusal path went untested";
  const AllocationStatistics s = stats.statistics();
  EXPECT_LE(s.peak_bytes, limit);
  EXPECT_EQ(s.current_bytes, 0u);
  EXPECT_EQ(s.failed_allocations, static_cast<std::uint64_t>(refused.load()));
  EXPECT_EQ(budget.used(), 0u);
}

TEST(BudgetOnTheGpu, DeviceBudgetHoldsUnderSixteenThreads) {
  GHTIER_REQUIRE_GPU();
  DevicePoolResource pool;
  run_sixteen_threads(pool, 256 * MiB, 8 * MiB);
  GHTIER_CUDA_CHECK(cudaDeviceSynchronize());
  EXPECT_EQ(pool.used_bytes(), 0u) << "memory of the pool was not given back";
}

TEST(BudgetOnTheGpu, PinnedBudgetHoldsUnderSixteenThreads) {
  GHTIER_REQUIRE_GPU();
  PinnedHostResource pool(PinnedHostOptions{.growth_bytes = 64 * MiB});
  run_sixteen_threads(pool, 128 * MiB, 4 * MiB);
  GHTIER_CUDA_CHECK(cudaDeviceSynchronize());
  EXPECT_EQ(pool.used_bytes(), 0u) << "blocks of the pool were not given back";
}

TEST(BudgetOnTheGpu, SixteenThreadsGetExactlyTheBudgetOfDeviceMemory) {
  GHTIER_REQUIRE_GPU();
  DevicePoolResource pool;
  constexpr std::size_t block = 2 * MiB;
  constexpr int allowed = 50;
  BudgetAdaptor budget(pool, block * allowed);
  std::atomic<int> granted{0};
  std::barrier all_tried(16);
  std::vector<std::thread> workers;
  for (int t = 0; t < 16; ++t) {
    workers.emplace_back([&] {
      std::vector<void*> mine;
      for (int i = 0; i < 8; ++i) {
        try {
          mine.push_back(budget.allocate(block));
          ++granted;
        } catch (const Error& e) {
          EXPECT_EQ(e.code(), ErrorCode::out_of_budget) << e.what();
        }
      }
      all_tried.arrive_and_wait();
      for (void* p : mine) budget.deallocate(p, block);
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(granted.load(), allowed);
  EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
}  // namespace ghtier
