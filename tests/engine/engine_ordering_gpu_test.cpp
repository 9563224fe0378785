// The engine gets the order of things right: it waits for a producer kernel that is still writing, an
// urgent request submitted behind 4 GiB of background work finishes first, a consumer stream made to wait
// sees the bytes, prefetches migrate managed memory, and pinned copies work inside CUDA graph capture while
// staged ones are refused.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine_test_buffers.hpp"
#include "engine_test_kernels.hpp"
#include "ghtier/engine/transfer_engine.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

using test::ModeBuffer;

constexpr std::size_t MiB = 1024 * 1024;
constexpr std::uint64_t producer_spin_ns = 50'000'000;  // the producer writes after ~50 ms

class Stream {
 public:
  Stream() { ENGINE_TEST_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~Stream() { (void)cudaStreamDestroy(stream_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  operator cudaStream_t() const noexcept { return stream_; }  // NOLINT(google-explicit-constructor)

 private:
  cudaStream_t stream_ = nullptr;
};

class EngineOrderingGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    GHTIER_REQUIRE_GPU();
    platform_ = detect_platform(0);
  }
  Platform platform_;
};

bool holds_produced(const std::vector<unsigned char>& got, std::size_t n, std::uint32_t seed) {
  for (std::size_t i = 0; i < n; ++i) {
    if (got[i] != test::produced_byte(i, seed)) return false;
  }
  return true;
}

TEST_F(EngineOrderingGpu, WaitsForAProducerStillWriting) {
  TransferEngine engine(platform_, 0);
  Stream producer;
  const std::size_t n = 32 * MiB + 7;
  ModeBuffer device(MemoryMode::device, n);
  // Pinned (copy engine), pageable (staged on PCIe) and device destinations; by stream and by event.
  for (MemoryMode to : {MemoryMode::pinned_host, MemoryMode::system, MemoryMode::device}) {
    for (bool by_event : {false, true}) {
      SCOPED_TRACE(std::string("to ") + std::string(to_string(to)) + (by_event ? ", by event" : ", by stream"));
      const std::uint32_t seed = static_cast<std::uint32_t>(static_cast<int>(to) * 2 + (by_event ? 1 : 0) + 1);
      device.poison();
      ModeBuffer out(to, n);
      out.poison();
      test::launch_late_producer(device.data(), n, seed, producer_spin_ns, producer);
      CopyRequest request = test::copy_of(out.data(), device.data(), n);
      cudaEvent_t produced = nullptr;
      if (by_event) {
        ENGINE_TEST_CUDA(cudaEventCreateWithFlags(&produced, cudaEventDisableTiming));
        ENGINE_TEST_CUDA(cudaEventRecord(produced, producer));
        request.wait_on.events.push_back(produced);
      } else {
        request.wait_on.streams.push_back(producer);
      }
      CompletionToken token = engine.submit(request);
      ASSERT_EQ(token.wait(), TransferStatus::completed);
      EXPECT_TRUE(holds_produced(out.download(), n, seed)) << "the copy did not wait for the producer";
      if (produced != nullptr) ENGINE_TEST_CUDA(cudaEventDestroy(produced));
    }
  }
}

TEST_F(EngineOrderingGpu, UrgentFinishesBeforeFourGibibytesOfBackground) {
  TransferEngine engine(platform_, 0);
  auto rng = test::fresh_rng();
  const std::size_t big = 1024 * MiB;
  ModeBuffer device_big(MemoryMode::device, big);
  ModeBuffer pinned_big(MemoryMode::pinned_host, big);
  const std::size_t small = 64 * MiB;
  ModeBuffer pinned_small(MemoryMode::pinned_host, small);
  ModeBuffer device_small(MemoryMode::device, small);
  const std::vector<unsigned char> data = test::random_bytes(rng, small);
  pinned_small.upload(0, data.data(), small);
  ModeBuffer managed(MemoryMode::managed, small);
  managed.upload(0, data.data(), small);

  // Same bytes every time, so the order of the four background copies does not matter to the result.
  // When each request ended, in ms after the background was submitted: printed if the order is wrong.
  using Clock = std::chrono::steady_clock;
  Clock::time_point t0{};
  auto ended_ms = std::make_shared<std::array<std::atomic<double>, 5>>();
  auto stamp = [&](std::size_t slot) {
    return [ended_ms, slot, &t0](TransferStatus) {
      (*ended_ms)[slot] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    };
  };
  auto submit_background = [&](bool offload) {
    std::vector<CompletionToken> tokens;
    t0 = Clock::now();
    for (int i = 0; i < 4; ++i) {
      CopyRequest request = offload ? test::copy_of(pinned_big.data(), device_big.data(), big)
                                    : test::copy_of(device_big.data(), pinned_big.data(), big);
      request.on_complete = stamp(static_cast<std::size_t>(i) + 1);
      tokens.push_back(engine.submit(request));
    }
    return tokens;
  };
  struct Case {
    const char* name;
    bool offload;   // background direction: offload (to host) or the same lane as the urgent copy
    bool prefetch;  // urgent request: a managed-memory prefetch instead of a copy
  };
  for (const Case c : {Case{"urgent copy behind 4 GiB of offload", true, false},
                       Case{"urgent copy behind 4 GiB on the same lane", false, false},
                       Case{"urgent prefetch behind 4 GiB on the same lane", false, true}}) {
    SCOPED_TRACE(c.name);
    device_small.poison();
    std::vector<CompletionToken> background = submit_background(c.offload);
    CompletionToken urgent;
    if (c.prefetch) {
      PrefetchRequest prefetch;
      prefetch.ptr = managed.data();
      prefetch.bytes = small;
      prefetch.target = PrefetchTarget::device;
      prefetch.priority = TransferPriority::urgent;
      prefetch.on_complete = stamp(0);
      urgent = engine.submit(prefetch);
    } else {
      CopyRequest copy = test::copy_of(device_small.data(), pinned_small.data(), small);
      copy.priority = TransferPriority::urgent;
      copy.on_complete = stamp(0);
      urgent = engine.submit(copy);
    }
    ASSERT_EQ(urgent.wait(), TransferStatus::completed);
    const bool background_done_first = background.back().ready();
    const double urgent_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    for (auto& token : background) ASSERT_EQ(token.wait(), TransferStatus::completed);
    EXPECT_FALSE(background_done_first)
        << "the last background copy finished before the urgent one; ms after the background was submitted: "
        << "urgent wait returned " << urgent_ms << ", urgent ended " << (*ended_ms)[0] << ", background ended "
        << (*ended_ms)[1] << " / " << (*ended_ms)[2] << " / " << (*ended_ms)[3] << " / " << (*ended_ms)[4];
    if (!c.prefetch) {
      EXPECT_TRUE(test::holds_exactly(device_small.download(), 0, data.data(), small));
    }
  }
}

TEST_F(EngineOrderingGpu, ConsumerStreamWaitsWithoutTheHost) {
  TransferEngine engine(platform_, 0);
  auto rng = test::fresh_rng();
  Stream consumer;
  const std::size_t n = 256 * MiB;
  ModeBuffer pinned(MemoryMode::pinned_host, n);
  ModeBuffer device(MemoryMode::device, n);
  ModeBuffer back(MemoryMode::pinned_host, n);
  for (TransferPriority priority : {TransferPriority::urgent, TransferPriority::background}) {
    SCOPED_TRACE(std::string(to_string(priority)));
    const std::vector<unsigned char> data = test::random_bytes(rng, n);
    pinned.upload(0, data.data(), n);
    device.poison();
    back.poison();
    CopyRequest request = test::copy_of(device.data(), pinned.data(), n);
    request.priority = priority;
    CompletionToken token = engine.submit(request);
    token.make_stream_wait(consumer);
    // The consumer copies the device buffer back: without the wait it would read poison.
    ENGINE_TEST_CUDA(cudaMemcpyAsync(back.data(), device.data(), n, cudaMemcpyDeviceToHost, consumer));
    ENGINE_TEST_CUDA(cudaStreamSynchronize(consumer));
    EXPECT_TRUE(test::holds_exactly(back.download(), 0, data.data(), n));
    ASSERT_EQ(token.wait(), TransferStatus::completed);
    token.make_stream_wait(consumer);  // after completion: nothing to wait for, still fine
  }
}

TEST_F(EngineOrderingGpu, PrefetchMovesManagedMemory) {
  if (!platform_.managed_migrates) GTEST_SKIP() << "managed memory does not migrate on this device";
  TransferEngine engine(platform_, 0);
  auto rng = test::fresh_rng();
  const std::size_t n = 48 * MiB + 4096;
  ModeBuffer managed(MemoryMode::managed, n);
  const std::vector<unsigned char> data = test::random_bytes(rng, n);
  managed.upload(0, data.data(), n);
  PrefetchRequest to_device;
  to_device.ptr = managed.data();
  to_device.bytes = n;
  to_device.target = PrefetchTarget::device;
  to_device.advice.accessed_by_device = true;
  ASSERT_EQ(engine.submit(to_device).wait(), TransferStatus::completed);
  int type = -1;
  int id = -1;
  ENGINE_TEST_CUDA(
      cudaMemRangeGetAttribute(&type, sizeof(type), cudaMemRangeAttributeLastPrefetchLocationType, managed.data(), n));
  ENGINE_TEST_CUDA(
      cudaMemRangeGetAttribute(&id, sizeof(id), cudaMemRangeAttributeLastPrefetchLocationId, managed.data(), n));
  EXPECT_EQ(type, static_cast<int>(cudaMemLocationTypeDevice));
  EXPECT_EQ(id, 0);
  PrefetchRequest to_host = to_device;
  to_host.target = PrefetchTarget::host;
  to_host.advice = {};
  to_host.advice.read_mostly = true;
  to_host.priority = TransferPriority::background;
  ASSERT_EQ(engine.submit(to_host).wait(), TransferStatus::completed);
  ENGINE_TEST_CUDA(
      cudaMemRangeGetAttribute(&type, sizeof(type), cudaMemRangeAttributeLastPrefetchLocationType, managed.data(), n));
  EXPECT_NE(type, static_cast<int>(cudaMemLocationTypeDevice));
  int read_mostly = 0;
  ENGINE_TEST_CUDA(
      cudaMemRangeGetAttribute(&read_mostly, sizeof(read_mostly), cudaMemRangeAttributeReadMostly, managed.data(), n));
  EXPECT_EQ(read_mostly, 1);
  EXPECT_EQ(0, std::memcmp(managed.data(), data.data(), n)) << "prefetching changed the bytes";
  // Memory whose pages cannot move is refused with a clear error (unsupported, as through the runtime).
  ModeBuffer device(MemoryMode::device, 4096);
  PrefetchRequest bad;
  bad.ptr = device.data();
  bad.bytes = 4096;
  EXPECT_GHTIER_ERROR((void)engine.submit(bad), ErrorCode::unsupported);
  if (!platform_.gpu_reads_pageable) {
    ModeBuffer pageable(MemoryMode::system, 4096);
    bad.ptr = pageable.data();
    EXPECT_GHTIER_ERROR((void)engine.submit(bad), ErrorCode::unsupported);
  }
}

TEST_F(EngineOrderingGpu, GraphCaptureOfPinnedCopiesAndRefusalOfStagedOnes) {
  TransferEngine engine(platform_, 0);
  auto rng = test::fresh_rng();
  Stream stream;
  const std::size_t n = 20 * MiB + 3;
  ModeBuffer pinned(MemoryMode::pinned_host, n);
  ModeBuffer device(MemoryMode::device, n);
  ModeBuffer back(MemoryMode::pinned_host, n);
  ModeBuffer pageable(MemoryMode::system, n);

  ENGINE_TEST_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  CopyRequest h2d = test::copy_of(device.data(), pinned.data(), n);
  h2d.wait_on.streams.push_back(stream);
  CompletionToken captured = engine.submit(h2d);
  EXPECT_EQ(captured.status(), TransferStatus::captured);
  EXPECT_EQ(captured.wait(), TransferStatus::captured);
  captured.make_stream_wait(stream);  // a dependency inside the capture
  BatchCopyRequest batch;
  batch.items.push_back({back.data(), device.data(), n / 2});
  batch.items.push_back({back.data() + n / 2, device.data() + n / 2, n - n / 2});
  batch.wait_on.streams.push_back(stream);
  EXPECT_EQ(engine.submit(batch).status(), TransferStatus::captured);
  // Staged copies need CPU threads: refused, and the capture is left intact.
  CopyRequest staged = test::copy_of(pageable.data(), device.data(), n);
  staged.wait_on.streams.push_back(stream);
  if (platform_.host_access != HostAccess::ats) {
    EXPECT_GHTIER_ERROR((void)engine.submit(staged), ErrorCode::unsupported);
  }
  CopyRequest with_callback = h2d;
  with_callback.on_complete = [](TransferStatus) {};
  EXPECT_GHTIER_ERROR((void)engine.submit(with_callback), ErrorCode::invalid_argument);
  cudaGraph_t graph = nullptr;
  ENGINE_TEST_CUDA(cudaStreamEndCapture(stream, &graph));
  cudaGraphExec_t exec = nullptr;
  ENGINE_TEST_CUDA(cudaGraphInstantiate(&exec, graph, 0));
  // Each launch copies what the pinned buffer holds at that time.
  for (int launch = 0; launch < 2; ++launch) {
    SCOPED_TRACE("launch " + std::to_string(launch));
    const std::vector<unsigned char> data = test::random_bytes(rng, n);
    pinned.upload(0, data.data(), n);
    back.poison();
    ENGINE_TEST_CUDA(cudaGraphLaunch(exec, stream));
    ENGINE_TEST_CUDA(cudaStreamSynchronize(stream));
    EXPECT_TRUE(test::holds_exactly(back.download(), 0, data.data(), n));
  }
  ENGINE_TEST_CUDA(cudaGraphExecDestroy(exec));
  ENGINE_TEST_CUDA(cudaGraphDestroy(graph));
  EXPECT_EQ(engine.statistics().captured, 2u);
}

}  // namespace
}  // namespace ghtier
