// SerialExecutor and WorkerPool without a GPU: order, exceptions, shutdown that runs what is queued, and
// destruction from one of their own tasks (which used to abort: a thread cannot join itself).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "engine/serial_executor.hpp"
#include "engine/worker_pool.hpp"
#include "test_support.hpp"

namespace ghtier::detail {
namespace {

using namespace std::chrono_literals;

TEST(SerialExecutor, RunsTasksInPostingOrderOnOneThread) {
  auto rng = test::fresh_rng();
  const int count = 1000 + static_cast<int>(rng() % 1000);
  std::vector<int> seen;
  std::set<std::thread::id> threads;
  {
    SerialExecutor executor("test");
    for (int i = 0; i < count; ++i) {
      executor.post([&, i] {
        seen.push_back(i);
        threads.insert(std::this_thread::get_id());
      });
    }
    executor.drain();
    EXPECT_EQ(static_cast<int>(seen.size()), count);
  }
  std::vector<int> expected(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) expected[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

TEST(SerialExecutor, SetupRunsFirstAndThrowingTasksAreSurvived) {
  std::vector<int> seen;
  {
    SerialExecutor executor("test", [&] { seen.push_back(-1); });
    executor.post([] { throw std::runtime_error("boom"); });
    executor.post([] { throw 42; });
    executor.post([&] { seen.push_back(1); });
  }  // the destructor runs what is queued
  EXPECT_EQ(seen, (std::vector<int>{-1, 1}));
}

TEST(SerialExecutor, DestructorRunsTasksPostedByTasks) {
  std::atomic<int> ran{0};
  {
    SerialExecutor executor("test");
    executor.post([&] {
      std::this_thread::sleep_for(5ms);
      executor.post([&] { ++ran; });
      ++ran;
    });
  }
  EXPECT_EQ(ran.load(), 2);
}

// The owner destroyed from inside one of its own tasks (an engine destroyed in its completion callback).
TEST(SerialExecutor, DestroyedFromItsOwnTaskDoesNotJoinItself) {
  auto executor = std::make_unique<SerialExecutor>("test");
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  std::promise<void> destroyed;
  std::promise<void> later_ran;
  executor->post([&, open] {
    open.wait();       // everything is posted before the executor goes
    executor.reset();  // used to call std::thread::join on the calling thread: std::terminate
    destroyed.set_value();
  });
  // Queued behind the destroying task: still runs, on the detached thread.
  executor->post([&] { later_ran.set_value(); });
  gate.set_value();
  EXPECT_EQ(destroyed.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_EQ(later_ran.get_future().wait_for(10s), std::future_status::ready);
}

TEST(SerialExecutor, DrainOnItsOwnThreadReturns) {
  SerialExecutor executor("test");
  std::promise<void> done;
  executor.post([&] {
    executor.drain();  // would wait for itself
    done.set_value();
  });
  EXPECT_EQ(done.get_future().wait_for(10s), std::future_status::ready);
}

TEST(WorkerPool, RunsEveryTaskOnceOnItsThreads) {
  auto rng = test::fresh_rng();
  const unsigned threads = 1 + static_cast<unsigned>(rng() % 4);
  const std::size_t count = 500 + rng() % 1000;
  std::vector<std::atomic<int>> runs(count);
  std::mutex mutex;
  std::set<std::thread::id> ids;
  {
    WorkerPool pool("test", threads, std::chrono::microseconds(rng() % 2 == 0 ? 0 : 20));
    EXPECT_EQ(pool.threads(), threads);
    std::vector<WorkerPool::Task> batch;
    for (std::size_t i = 0; i < count; ++i) {
      WorkerPool::Task task = [&, i] {
        runs[i].fetch_add(1);
        std::lock_guard lock(mutex);
        ids.insert(std::this_thread::get_id());
      };
      if (i % 3 == 0) {
        pool.post(std::move(task));
      } else {
        batch.push_back(std::move(task));
      }
    }
    pool.post(std::move(batch));
  }  // the destructor finishes every queued task
  for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(runs[i].load(), 1) << i;
  EXPECT_LE(ids.size(), threads);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
}

TEST(WorkerPool, RefusesZeroThreadsAndSurvivesThrowingTasks) {
  EXPECT_GHTIER_ERROR(WorkerPool("test", 0), ErrorCode::invalid_argument);
  std::atomic<int> ran{0};
  {
    WorkerPool pool("test", 2);
    for (int i = 0; i < 10; ++i) pool.post([] { throw std::runtime_error("boom"); });
    for (int i = 0; i < 10; ++i) pool.post([&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 10);
}

TEST(WorkerPool, DestroyedFromItsOwnTaskDoesNotJoinItself) {
  auto pool = std::make_unique<WorkerPool>("test", 3);
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  std::promise<void> destroyed;
  std::atomic<int> others{0};
  pool->post([&, open] {
    open.wait();  // everything is posted before the pool goes
    pool.reset();
    destroyed.set_value();
  });
  for (int i = 0; i < 20; ++i) pool->post([&] { ++others; });
  gate.set_value();
  EXPECT_EQ(destroyed.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_EQ(others.load(), 20);  // the other workers were joined after finishing the queue
}

}  // namespace
}  // namespace ghtier::detail
