// The event watcher's bounded poll on a real GPU: an event already complete is seen by the query, one that
// outlasts the budget is waited for asleep (and has really completed when the handler runs), a bad event
// reports the failing call, and polled and blocking waits keep their order.
#include "engine/event_watcher.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine_test_buffers.hpp"
#include "engine_test_kernels.hpp"
#include "test_support.hpp"

namespace ghtier::detail {
namespace {

using namespace std::chrono_literals;

class EventWatcherGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    GHTIER_REQUIRE_GPU();
    ENGINE_TEST_CUDA(cudaSetDevice(0));
    ENGINE_TEST_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    ENGINE_TEST_CUDA(cudaEventCreateWithFlags(&spin_event_, cudaEventDisableTiming));
    ENGINE_TEST_CUDA(cudaEventCreateWithFlags(&blocking_event_, cudaEventDisableTiming | cudaEventBlockingSync));
  }
  void TearDown() override {
    if (stream_ != nullptr) (void)cudaStreamSynchronize(stream_);
    if (spin_event_ != nullptr) (void)cudaEventDestroy(spin_event_);
    if (blocking_event_ != nullptr) (void)cudaEventDestroy(blocking_event_);
    if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
  }

  // Runs watch_polled on `event` and returns what its handler saw (with whether the event had completed).
  struct Seen {
    EventWaitResult result;
    cudaError_t query_in_handler = cudaErrorUnknown;
  };
  Seen watch_polled_and_wait(EventWatcher& watcher, cudaEvent_t event, std::chrono::microseconds budget) {
    std::promise<Seen> seen;
    std::future<Seen> done = seen.get_future();
    watcher.watch_polled(event, budget, [&seen, event](const EventWaitResult& result) {
      Seen s;
      s.result = result;
      if (event != nullptr) {
        s.query_in_handler = cudaEventQuery(event);
        (void)cudaGetLastError();
      }
      seen.set_value(s);
    });
    EXPECT_EQ(done.wait_for(30s), std::future_status::ready) << "the handler never ran";
    return done.get();
  }

  cudaStream_t stream_ = nullptr;
  cudaEvent_t spin_event_ = nullptr;
  cudaEvent_t blocking_event_ = nullptr;
};

TEST_F(EventWatcherGpu, ACompletedEventIsSeenByTheQuery) {
  EventWatcher watcher(0);
  ENGINE_TEST_CUDA(cudaEventRecord(spin_event_, stream_));
  ENGINE_TEST_CUDA(cudaEventSynchronize(spin_event_));
  const Seen seen = watch_polled_and_wait(watcher, spin_event_, 100us);
  EXPECT_EQ(seen.result.status, cudaSuccess);
  EXPECT_TRUE(seen.result.polled);
  EXPECT_FALSE(seen.result.fell_back);
  EXPECT_EQ(std::string(seen.result.call), "cudaEventQuery");
}

TEST_F(EventWatcherGpu, AnEventThatOutlastsTheBudgetIsWaitedForAsleepUntilItCompletes) {
  EventWatcher watcher(0);
  for (int round = 0; round < 3; ++round) {  // the fallback's stream and event are made once, then reused
    test::launch_spin(20'000'000, stream_);  // 20 ms of GPU time ahead of the event
    ENGINE_TEST_CUDA(cudaEventRecord(spin_event_, stream_));
    const auto start = std::chrono::steady_clock::now();
    const Seen seen = watch_polled_and_wait(watcher, spin_event_, 50us);
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(seen.result.status, cudaSuccess) << "round " << round;
    EXPECT_TRUE(seen.result.fell_back) << "round " << round;
    EXPECT_FALSE(seen.result.polled) << "round " << round;
    EXPECT_EQ(std::string(seen.result.call), "cudaEventSynchronize") << "round " << round;
    EXPECT_EQ(seen.query_in_handler, cudaSuccess) << "the handler ran before the event completed, round " << round;
    EXPECT_GE(waited, 10ms) << "round " << round;
  }
}

TEST_F(EventWatcherGpu, ABadEventReportsTheFailingCall) {
  EventWatcher watcher(0);
  const Seen seen = watch_polled_and_wait(watcher, nullptr, 100us);
  EXPECT_NE(seen.result.status, cudaSuccess);
  EXPECT_EQ(std::string(seen.result.call), "cudaEventQuery");
  // The watcher goes on after a failure.
  ENGINE_TEST_CUDA(cudaEventRecord(spin_event_, stream_));
  EXPECT_EQ(watch_polled_and_wait(watcher, spin_event_, 100us).result.status, cudaSuccess);
}

TEST_F(EventWatcherGpu, PolledAndBlockingWaitsKeepTheirOrder) {
  EventWatcher watcher(0);
  std::mutex mutex;
  std::vector<int> order;
  std::vector<cudaEvent_t> events;
  constexpr int count = 24;
  for (int i = 0; i < count; ++i) {
    cudaEvent_t event = nullptr;
    ENGINE_TEST_CUDA(
        cudaEventCreateWithFlags(&event, cudaEventDisableTiming | (i % 2 != 0 ? cudaEventBlockingSync : 0u)));
    events.push_back(event);
  }
  std::promise<void> all;
  for (int i = 0; i < count; ++i) {
    test::launch_spin(static_cast<std::uint64_t>((i % 5) * 100'000), stream_);  // 0..0.4 ms each
    ENGINE_TEST_CUDA(cudaEventRecord(events[i], stream_));
    auto handler = [&, i](const EventWaitResult& result) {
      std::lock_guard lock(mutex);
      EXPECT_EQ(result.status, cudaSuccess) << "event " << i;
      order.push_back(i);
      if (i + 1 == count) all.set_value();
    };
    if (i % 2 == 0) {
      watcher.watch_polled(events[i], std::chrono::microseconds{(i % 3) * 100}, handler);
    } else {
      watcher.watch(events[i], handler);
    }
  }
  ASSERT_EQ(all.get_future().wait_for(30s), std::future_status::ready);
  std::vector<int> expected(count);
  for (int i = 0; i < count; ++i) expected[i] = i;
  EXPECT_EQ(order, expected);
  for (cudaEvent_t event : events) (void)cudaEventDestroy(event);
}

}  // namespace
}  // namespace ghtier::detail
