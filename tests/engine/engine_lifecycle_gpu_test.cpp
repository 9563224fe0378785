// The engine under load and at its edges: 16 threads submitting at once, callbacks exactly once, shutdown
// with requests in flight (no hang, every token completes or says cancelled), bad input on real memory,
// tokens used after release, statistics that add up; small urgent copies through every completion wait
// (polled, polled then asleep, asleep), and one token waited for from two threads.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine_test_buffers.hpp"
#include "ghtier/engine/transfer_engine.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

using test::ModeBuffer;

constexpr std::size_t KiB = 1024;
constexpr std::size_t MiB = 1024 * KiB;

class EngineLifecycleGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    GHTIER_REQUIRE_GPU();
    platform_ = detect_platform(0);
  }
  Platform platform_;
};

const MemoryMode all_modes[] = {MemoryMode::device, MemoryMode::pinned_host, MemoryMode::managed, MemoryMode::system};

TEST_F(EngineLifecycleGpu, SixteenThreadsSubmitAtOnce) {
  TransferEngine engine(platform_, 0);
  constexpr int threads = 16;
  constexpr int copies_each = 12;
  std::atomic<int> callbacks{0};
  std::vector<std::string> failures(threads);
  std::vector<std::thread> workers;
  std::mt19937_64 seeds = test::fresh_rng();
  for (int t = 0; t < threads; ++t) {
    const std::uint64_t seed = seeds();
    workers.emplace_back([&, t, seed] {
      try {
        std::mt19937_64 rng(seed);
        struct Pending {
          std::unique_ptr<ModeBuffer> src, dst;
          std::vector<unsigned char> data;
          CompletionToken token;
        };
        std::vector<Pending> pending;
        for (int k = 0; k < copies_each; ++k) {
          Pending p;
          const MemoryMode from = all_modes[rng() % 4];
          const MemoryMode to = all_modes[rng() % 4];
          const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 3 * MiB)(rng);
          p.src = std::make_unique<ModeBuffer>(from, n);
          p.dst = std::make_unique<ModeBuffer>(to, n);
          p.data = test::random_bytes(rng, n);
          p.src->upload(0, p.data.data(), n);
          p.dst->poison();
          CopyRequest request = test::copy_of(p.dst->data(), p.src->data(), n);
          request.priority = rng() % 2 ? TransferPriority::urgent : TransferPriority::background;
          request.on_complete = [&callbacks](TransferStatus status) {
            if (status == TransferStatus::completed) callbacks.fetch_add(1);
          };
          p.token = engine.submit(request);
          pending.push_back(std::move(p));
        }
        for (auto& p : pending) {
          if (p.token.wait() != TransferStatus::completed) {
            failures[t] = "a copy did not complete";
            return;
          }
          const std::vector<unsigned char> got = p.dst->download();
          if (std::memcmp(got.data(), p.data.data(), p.data.size()) != 0) {
            failures[t] = "wrong bytes in a copy of " + std::to_string(p.data.size());
            return;
          }
        }
      } catch (const std::exception& e) {
        failures[t] = e.what();
      }
    });
  }
  for (auto& w : workers) w.join();
  for (int t = 0; t < threads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
  engine.synchronize();
  EXPECT_EQ(callbacks.load(), threads * copies_each);
  const TransferStatistics stats = engine.statistics();
  EXPECT_EQ(stats.completed, static_cast<std::uint64_t>(threads * copies_each));
  EXPECT_EQ(stats.queue_depth, 0u);
}

TEST_F(EngineLifecycleGpu, CallbacksRunExactlyOnce) {
  auto rng = test::fresh_rng();
  TransferEngine engine(platform_, 0);
  constexpr int requests = 200;
  constexpr std::size_t region = 1 * MiB;  // every request has its own region: no two copies race
  constexpr std::size_t regions = requests / 4;
  std::vector<std::atomic<int>> calls(requests);
  std::vector<std::atomic<int>> outcome(requests);
  ModeBuffer device_a(MemoryMode::device, regions * region), pinned_a(MemoryMode::pinned_host, regions * region);
  ModeBuffer device_b(MemoryMode::device, regions * region), pageable_b(MemoryMode::system, regions * region);
  ModeBuffer device_c(MemoryMode::device, regions * region), pinned_c(MemoryMode::pinned_host, regions * region);
  ModeBuffer managed_c(MemoryMode::managed, regions * region), pageable_c(MemoryMode::system, regions * region);
  ModeBuffer managed_d(MemoryMode::managed, regions * region);
  std::vector<CompletionToken> tokens;
  for (int i = 0; i < requests; ++i) {
    auto callback = [&calls, &outcome, i](TransferStatus status) {
      calls[i].fetch_add(1);
      outcome[i].store(static_cast<int>(status));
    };
    const std::size_t at = static_cast<std::size_t>(i / 4) * region;
    const std::size_t n = std::uniform_int_distribution<std::size_t>(0, region)(rng);  // zero bytes included
    switch (i % 4) {
      case 0: {
        CopyRequest r = test::copy_of(device_a.data() + at, pinned_a.data() + at, n);
        r.on_complete = callback;
        tokens.push_back(engine.submit(r));
        break;
      }
      case 1: {
        CopyRequest r = test::copy_of(pageable_b.data() + at, device_b.data() + at, n);
        r.priority = TransferPriority::urgent;
        r.on_complete = callback;
        tokens.push_back(engine.submit(r));
        break;
      }
      case 2: {
        BatchCopyRequest r;
        r.items.push_back({pinned_c.data() + at, device_c.data() + at, n / 2});
        r.items.push_back({pageable_c.data() + at, managed_c.data() + at, n / 2});
        r.on_complete = callback;
        tokens.push_back(engine.submit(r));
        break;
      }
      default: {
        PrefetchRequest r;
        r.ptr = managed_d.data() + at;
        r.bytes = n;
        r.target = i % 8 == 3 ? PrefetchTarget::device : PrefetchTarget::host;
        r.on_complete = callback;
        tokens.push_back(engine.submit(r));
      }
    }
    // Some tokens are dropped at once: the callback still runs once.
    if (i % 5 == 0) tokens.back().release();
  }
  engine.synchronize();
  for (int i = 0; i < requests; ++i) {
    EXPECT_EQ(calls[i].load(), 1) << "request " << i;
    EXPECT_EQ(outcome[i].load(), static_cast<int>(TransferStatus::completed)) << "request " << i;
  }
  // wait() returns after the callback has run.
  std::atomic<bool> ran{false};
  CopyRequest r = test::copy_of(device_a.data(), pinned_a.data(), region);
  r.on_complete = [&ran](TransferStatus) { ran = true; };
  EXPECT_EQ(engine.submit(r).wait(), TransferStatus::completed);
  EXPECT_TRUE(ran.load());
}

TEST_F(EngineLifecycleGpu, ShutdownWithRequestsInFlightNeitherHangsNorLosesACompletion) {
  auto rng = test::fresh_rng();
  const std::size_t n = 64 * MiB;
  ModeBuffer device(MemoryMode::device, n);
  ModeBuffer pinned(MemoryMode::pinned_host, n);
  ModeBuffer pageable(MemoryMode::system, n);
  const std::vector<unsigned char> data = test::random_bytes(rng, n);
  device.upload(0, data.data(), n);
  constexpr int requests = 48;
  std::vector<std::atomic<int>> calls(requests);
  std::vector<CompletionToken> tokens;
  {
    TransferEngine engine(platform_, 0);
    for (int i = 0; i < requests; ++i) {
      // Background offloads to pinned and (staged) pageable memory: far more than finishes before shutdown.
      CopyRequest r = test::copy_of(i % 3 == 1 ? pageable.data() : pinned.data(), device.data(), n);
      r.on_complete = [&calls, i](TransferStatus) { calls[i].fetch_add(1); };
      tokens.push_back(engine.submit(r));
    }
  }  // the engine shuts down here
  int completed = 0;
  int cancelled = 0;
  for (int i = 0; i < requests; ++i) {
    EXPECT_TRUE(tokens[i].ready()) << "request " << i << " neither completed nor cancelled";
    const TransferStatus status = tokens[i].wait();
    EXPECT_TRUE(status == TransferStatus::completed || status == TransferStatus::cancelled) << to_string(status);
    completed += status == TransferStatus::completed;
    cancelled += status == TransferStatus::cancelled;
    EXPECT_EQ(calls[i].load(), 1) << "request " << i;
  }
  EXPECT_EQ(completed + cancelled, requests);
  EXPECT_GT(cancelled, 0) << "every request finished before shutdown: the test did not test anything";
  // The first request started at submit, so it finished, with the right bytes.
  ASSERT_EQ(tokens[0].status(), TransferStatus::completed);
  EXPECT_EQ(0, std::memcmp(pinned.data(), data.data(), n));
  // A token outlives its engine: asking it again is fine.
  EXPECT_TRUE(tokens[0].ready());
  tokens[0].make_stream_wait(nullptr);
}

TEST_F(EngineLifecycleGpu, BadInputOnRealMemory) {
  // A tracker with one real device allocation: copies past its end are refused.
  ModeBuffer device(MemoryMode::device, 1 * MiB);
  ModeBuffer pinned(MemoryMode::pinned_host, 2 * MiB);
  class OneAllocation final : public AllocationLookup {
   public:
    explicit OneAllocation(const ModeBuffer& b) : base_(b.data()), bytes_(b.size()) {}
    std::optional<AllocationRecord> find(const void* p) const override {
      const auto* c = static_cast<const unsigned char*>(p);
      if (c < base_ || c >= base_ + bytes_) return std::nullopt;
      return AllocationRecord{base_, bytes_, MemoryMode::device, "activations"};
    }

   private:
    unsigned char* base_;
    std::size_t bytes_;
  } lookup(device);
  TransferEngine engine(platform_, 0, &lookup);
  EXPECT_GHTIER_ERROR((void)engine.submit(test::copy_of(device.data(), pinned.data(), 1 * MiB + 1)),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)engine.submit(test::copy_of(pinned.data(), device.data() + 4096, 1 * MiB)),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)engine.submit(test::copy_of(nullptr, pinned.data(), 16)), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)engine.submit(test::copy_of(pinned.data(), nullptr, 16)), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)engine.submit(test::copy_of(pinned.data() + 100, pinned.data(), 4096)),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)engine.submit(BatchCopyRequest{}), ErrorCode::invalid_argument);
  PrefetchRequest prefetch;
  EXPECT_GHTIER_ERROR((void)engine.submit(prefetch), ErrorCode::invalid_argument);
  // Inside the allocation: fine.
  CompletionToken token = engine.submit(test::copy_of(device.data(), pinned.data(), 1 * MiB));
  EXPECT_EQ(token.wait(), TransferStatus::completed);
  // A token used after release says so.
  token.release();
  EXPECT_FALSE(token.valid());
  EXPECT_GHTIER_ERROR((void)token.wait(), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)token.ready(), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(token.make_stream_wait(nullptr), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(token.release(), ErrorCode::invalid_argument);
  EXPECT_EQ(engine.statistics().failed, 0u);
}

TEST_F(EngineLifecycleGpu, StatisticsAddUp) {
  TransferEngine engine(platform_, 0);
  const std::size_t n = 40 * MiB;
  ModeBuffer device(MemoryMode::device, n);
  ModeBuffer pinned(MemoryMode::pinned_host, n);
  ModeBuffer device2(MemoryMode::device, n);
  for (int i = 0; i < 3; ++i) (void)engine.submit(test::copy_of(device.data(), pinned.data(), n)).wait();
  for (int i = 0; i < 2; ++i) (void)engine.submit(test::copy_of(pinned.data(), device.data(), n)).wait();
  (void)engine.submit(test::copy_of(device2.data(), device.data(), n)).wait();
  engine.synchronize();
  const TransferStatistics s = engine.statistics();
  EXPECT_EQ(s.to_device.bytes, 3 * n);
  EXPECT_EQ(s.to_host.bytes, 2 * n);
  EXPECT_EQ(s.local.bytes, n);
  EXPECT_EQ(s.to_device.requests, 3u);
  // n / chunk_bytes chunks each (rounded down), or one more: the last chunk and an unaligned destination.
  EXPECT_GE(s.to_device.chunks, 3 * (n / engine.options().chunk_bytes));
  EXPECT_LE(s.to_device.chunks, 3 * (n / engine.options().chunk_bytes + 1));
  EXPECT_GT(s.to_device.achieved_gbps, 0.0);
  EXPECT_GT(s.to_device.busy_seconds, 0.0);
  EXPECT_EQ(s.submitted, 6u);
  EXPECT_EQ(s.completed, 6u);
  EXPECT_EQ(s.queue_depth, 0u);
  EXPECT_GE(s.to_device.peak_queued, 1u);
}

// Small urgent copies end through a watcher's poll (default), a poll that runs out and sleeps (a 1 us
// budget: a 1 MiB copy sharing the link with a raw 64 MiB copy outlasts it) and a sleeping watcher only (0):
// the bytes, the outcome and the statistics must be the same, and each path must have been taken.
TEST_F(EngineLifecycleGpu, SmallUrgentCopiesCompleteThroughEveryWaitPath) {
  auto rng = test::fresh_rng();
  constexpr std::size_t most = 1 * MiB;
  constexpr std::size_t load = 64 * MiB;
  ModeBuffer device(MemoryMode::device, most), device2(MemoryMode::device, most);
  ModeBuffer pinned(MemoryMode::pinned_host, most), pinned2(MemoryMode::pinned_host, most);
  ModeBuffer load_src(MemoryMode::pinned_host, load), load_dst(MemoryMode::device, load);
  cudaStream_t other = nullptr;
  ENGINE_TEST_CUDA(cudaStreamCreateWithFlags(&other, cudaStreamNonBlocking));
  for (const unsigned poll_us : {100u, 1u, 0u}) {
    SCOPED_TRACE("completion_poll_us = " + std::to_string(poll_us));
    TransferEngineOptions options;
    options.completion_poll_us = poll_us;
    TransferEngine engine(platform_, 0, nullptr, options);
    constexpr int copies = 60;
    for (int i = 0; i < copies; ++i) {
      // Every third copy is 1 MiB to the device, behind someone else's 64 MiB on the same link.
      const bool loaded = i % 3 == 0;
      const std::size_t n = loaded ? most : std::uniform_int_distribution<std::size_t>(1, 64 * KiB)(rng);
      const int direction = loaded ? 0 : static_cast<int>(rng() % 3);
      ModeBuffer& src = direction == 0 ? pinned : device;
      ModeBuffer& dst = direction == 0 ? device : (direction == 1 ? pinned2 : device2);
      const std::vector<unsigned char> data = test::random_bytes(rng, n);
      src.upload(0, data.data(), n);
      dst.poison();
      CopyRequest request = test::copy_of(dst.data(), src.data(), n);
      request.priority = TransferPriority::urgent;
      if (loaded) {
        ENGINE_TEST_CUDA(cudaMemcpyAsync(load_dst.data(), load_src.data(), load, cudaMemcpyHostToDevice, other));
      }
      CompletionToken token = engine.submit(request);
      ASSERT_EQ(token.wait(), TransferStatus::completed) << "copy " << i << " of " << n << " bytes";
      ENGINE_TEST_CUDA(cudaStreamSynchronize(other));
      engine.synchronize();  // the watcher has retired it: the next copy has nothing ahead of it on its lane
      const std::vector<unsigned char> got = dst.download();
      ASSERT_EQ(0, std::memcmp(got.data(), data.data(), n)) << "copy " << i << " of " << n << " bytes";
      for (std::size_t k = n; k < got.size(); ++k) {
        ASSERT_EQ(got[k], test::poison_byte) << "copy " << i << " wrote past its end at " << k;
      }
    }
    engine.synchronize();
    const TransferStatistics s = engine.statistics();
    EXPECT_EQ(s.completed, static_cast<std::uint64_t>(copies));
    EXPECT_EQ(s.failed, 0u);
    EXPECT_LE(s.completion_poll_fallbacks, s.completion_polls);
    if (poll_us == 0) {
      EXPECT_EQ(s.completion_polls, 0u) << "polled although polling is off";
    } else {
      // Each copy ran alone on an idle lane: every one of them was polled for.
      EXPECT_EQ(s.completion_polls, static_cast<std::uint64_t>(copies));
    }
    if (poll_us == 1) {
      EXPECT_GT(s.completion_poll_fallbacks, 0u) << "no poll ran out: the fallback was not tested";
    }
  }
  ENGINE_TEST_CUDA(cudaStreamDestroy(other));
}

// One token waited for from two threads at once, with and without on_complete (which runs once, on the
// engine's callback thread, before either wait returns); and a background or long copy is never polled for.
TEST_F(EngineLifecycleGpu, ASmallUrgentTokenWaitedForFromTwoThreads) {
  auto rng = test::fresh_rng();
  TransferEngine engine(platform_, 0);
  constexpr std::size_t n = 4 * KiB;
  ModeBuffer pinned(MemoryMode::pinned_host, n), device(MemoryMode::device, n);
  const std::thread::id test_thread = std::this_thread::get_id();
  for (int i = 0; i < 100; ++i) {
    const std::vector<unsigned char> data = test::random_bytes(rng, n);
    pinned.upload(0, data.data(), n);
    device.poison();
    std::atomic<int> calls{0};
    std::thread::id callback_thread;
    CopyRequest request = test::copy_of(device.data(), pinned.data(), n);
    request.priority = TransferPriority::urgent;
    const bool with_callback = i % 2 == 0;
    if (with_callback) {
      request.on_complete = [&](TransferStatus status) {
        EXPECT_EQ(status, TransferStatus::completed);
        callback_thread = std::this_thread::get_id();
        calls.fetch_add(1);
      };
    }
    CompletionToken token = engine.submit(request);
    std::atomic<int> seen_calls_a{-1}, seen_calls_b{-1};
    TransferStatus a = TransferStatus::pending, b = TransferStatus::pending;
    std::thread other([&] {
      b = token.wait();
      seen_calls_b = calls.load();
    });
    a = token.wait();
    seen_calls_a = calls.load();
    other.join();
    ASSERT_EQ(a, TransferStatus::completed) << "round " << i;
    ASSERT_EQ(b, TransferStatus::completed) << "round " << i;
    EXPECT_EQ(token.status(), TransferStatus::completed);
    EXPECT_FALSE(token.error().has_value());
    if (with_callback) {
      EXPECT_EQ(seen_calls_a.load(), 1) << "wait() returned before on_complete ran, round " << i;
      EXPECT_EQ(seen_calls_b.load(), 1) << "wait() returned before on_complete ran, round " << i;
      EXPECT_NE(callback_thread, test_thread);
      EXPECT_NE(callback_thread, std::thread::id{});
    }
    EXPECT_EQ(0, std::memcmp(device.download().data(), data.data(), n)) << "round " << i;
  }
  engine.synchronize();
  const std::uint64_t polls = engine.statistics().completion_polls;
  EXPECT_GT(polls, 0u);
  // Neither a background copy nor a 16 MiB urgent one is polled for.
  ModeBuffer big_pinned(MemoryMode::pinned_host, 16 * MiB), big_device(MemoryMode::device, 16 * MiB);
  (void)engine.submit(test::copy_of(device.data(), pinned.data(), n)).wait();
  CopyRequest big = test::copy_of(big_device.data(), big_pinned.data(), 16 * MiB);
  big.priority = TransferPriority::urgent;
  EXPECT_EQ(engine.submit(big).wait(), TransferStatus::completed);
  engine.synchronize();
  EXPECT_EQ(engine.statistics().completion_polls, polls);
}

}  // namespace
}  // namespace ghtier
