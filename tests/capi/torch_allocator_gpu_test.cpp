// The PyTorch allocator slots on a GPU: every mode's slot hands out memory of that mode that holds fresh
// random bytes, the policy slot spills past a device budget, frees are stream-ordered, graph capture is
// served from the reserve (and the captured graph replays into it), a full reserve refuses cleanly.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "capi/c_api_runtime.hpp"
#include "capi/torch_block_cache.hpp"
#include "ghtier/ghtier.h"
#include "ghtier/ghtier_torch.h"
#include "ghtier/policy/builtin_policy.hpp"
#include "ghtier/runtime/runtime.hpp"
#include "test_support.hpp"

namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;

#define ASSERT_STATUS(call, expected) ASSERT_EQ((call), expected) << #call << ": " << ghtier_error_message()
#define EXPECT_STATUS(call, expected) EXPECT_EQ((call), expected) << #call << ": " << ghtier_error_message()

ghtier_torch_slot_statistics_t statistics_of(int32_t slot) {
  ghtier_torch_slot_statistics_t s{};
  s.struct_size = sizeof(s);
  EXPECT_STATUS(ghtier_torch_slot_statistics(slot, &s), GHTIER_SUCCESS);
  return s;
}

void expect_round_trip(void* p, std::size_t n, std::mt19937_64& rng) {
  std::vector<unsigned char> in(n);
  for (auto& b : in) b = static_cast<unsigned char>(rng());
  std::vector<unsigned char> out(n, 0xEE);
  ASSERT_EQ(cudaMemcpy(p, in.data(), n, cudaMemcpyDefault), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(out.data(), p, n, cudaMemcpyDefault), cudaSuccess);
  EXPECT_TRUE(in == out);
}

class TorchAllocatorGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    GHTIER_REQUIRE_GPU();
    runtime_ = std::make_shared<ghtier::Runtime>();
    rt_ = ghtier::capi::make_handle(runtime_);
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
  }
  void TearDown() override {
    if (rt_ == nullptr) return;
    for (int32_t slot = 0; slot < GHTIER_TORCH_SLOTS; ++slot) {
      if (statistics_of(slot).bound) {
        EXPECT_STATUS(ghtier_torch_unbind(slot), GHTIER_SUCCESS);
      }
    }
    EXPECT_STATUS(ghtier_runtime_destroy(rt_), GHTIER_SUCCESS);
    EXPECT_EQ(cudaStreamDestroy(stream_), cudaSuccess);
  }
  void bind(int32_t slot, int32_t mode, std::size_t reserve = 0) {
    ghtier_torch_bind_options_t o{};
    o.struct_size = sizeof(o);
    o.mode = mode;
    o.capture_reserve_bytes = reserve;
    ASSERT_STATUS(ghtier_torch_bind(slot, rt_, &o), GHTIER_SUCCESS);
  }
  std::shared_ptr<ghtier::Runtime> runtime_;
  ghtier_runtime_t* rt_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

using Alloc = void* (*)(ptrdiff_t, int, void*);
using Free = void (*)(void*, ptrdiff_t, int, void*);

TEST_F(TorchAllocatorGpu, EachModeSlotAllocatesInItsMode) {
  auto rng = ghtier::test::fresh_rng();
  const Alloc allocs[] = {ghtier_torch_alloc_0, ghtier_torch_alloc_1, ghtier_torch_alloc_2};
  const Free frees[] = {ghtier_torch_free_0, ghtier_torch_free_1, ghtier_torch_free_2};
  const ghtier::MemoryMode modes[] = {ghtier::MemoryMode::device, ghtier::MemoryMode::pinned_host,
                                      ghtier::MemoryMode::managed};
  for (int slot = 0; slot < 3; ++slot) {
    bind(slot, static_cast<int32_t>(modes[slot]));
    const std::size_t n = (1 + (rng() % 3)) * MiB + (rng() % 4096);
    void* p = allocs[slot](static_cast<ptrdiff_t>(n), runtime_->device(), stream_);
    ASSERT_NE(p, nullptr) << ghtier_torch_last_error(slot);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 256, 0u);
    ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    const auto record = runtime_->find(p);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->mode, modes[slot]);
    expect_round_trip(p, n, rng);
    const auto s = statistics_of(slot);
    EXPECT_EQ(s.current_allocations, 1u);
    EXPECT_GE(s.current_bytes, n);
    frees[slot](p, static_cast<ptrdiff_t>(n), runtime_->device(), stream_);
    ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    EXPECT_EQ(statistics_of(slot).current_bytes, 0u);
    EXPECT_FALSE(runtime_->find(p).has_value());
  }
}

TEST_F(TorchAllocatorGpu, PolicySlotSpillsPastTheDeviceBudget) {
  runtime_->set_budget(ghtier::MemoryMode::device, 8 * MiB);
  bind(0, GHTIER_TORCH_MODE_POLICY);
  void* first = ghtier_torch_alloc_0(6 * MiB, runtime_->device(), stream_);
  void* second = ghtier_torch_alloc_0(6 * MiB, runtime_->device(), stream_);
  ASSERT_NE(first, nullptr) << ghtier_torch_last_error(0);
  ASSERT_NE(second, nullptr) << ghtier_torch_last_error(0);
  const auto s = statistics_of(0);
  EXPECT_EQ(s.device_bytes, 6 * MiB);
  EXPECT_EQ(s.device_bytes + s.pinned_host_bytes + s.managed_bytes + s.system_bytes, 12 * MiB);
  EXPECT_NE(runtime_->find(second)->mode, ghtier::MemoryMode::device);
  ghtier_torch_free_0(first, 6 * MiB, runtime_->device(), stream_);
  ghtier_torch_free_0(second, 6 * MiB, runtime_->device(), stream_);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  EXPECT_EQ(runtime_->budget_used(ghtier::MemoryMode::device), 0u);
}

TEST_F(TorchAllocatorGpu, UnbindRefusesWhileAllocationsLive) {
  bind(0, GHTIER_MODE_DEVICE);
  void* p = ghtier_torch_alloc_0(4096, runtime_->device(), stream_);
  ASSERT_NE(p, nullptr);
  EXPECT_STATUS(ghtier_torch_unbind(0), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("still holds 1 allocations"), std::string::npos);
  ghtier_torch_free_1(p, 4096, runtime_->device(), stream_);  // the wrong slot: left alone
  EXPECT_EQ(statistics_of(1).foreign_frees, 1u);
  EXPECT_EQ(statistics_of(0).current_allocations, 1u);
  ghtier_torch_free_0(p, 4096, runtime_->device(), stream_);
  EXPECT_STATUS(ghtier_torch_unbind(0), GHTIER_SUCCESS);
}

TEST_F(TorchAllocatorGpu, CaptureIsServedFromTheReserve) {
  auto rng = ghtier::test::fresh_rng();
  bind(0, GHTIER_MODE_DEVICE, 4 * MiB);
  const auto before = statistics_of(0);
  EXPECT_EQ(before.capture_reserve_bytes, 4 * MiB);
  const std::size_t device_used = runtime_->budget_used(ghtier::MemoryMode::device);

  std::vector<unsigned char> host(MiB);
  for (auto& b : host) b = static_cast<unsigned char>(rng());
  void* src = nullptr;
  ASSERT_EQ(cudaMalloc(&src, MiB), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(src, host.data(), MiB, cudaMemcpyHostToDevice), cudaSuccess);

  int32_t capturing = -1;
  ASSERT_STATUS(ghtier_torch_stream_is_capturing(stream_, &capturing), GHTIER_SUCCESS);
  EXPECT_EQ(capturing, 0);
  ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
  ASSERT_STATUS(ghtier_torch_stream_is_capturing(stream_, &capturing), GHTIER_SUCCESS);
  EXPECT_EQ(capturing, 1);
  void* dst = ghtier_torch_alloc_0(MiB, runtime_->device(), stream_);
  void* too_big = ghtier_torch_alloc_0(8 * MiB, runtime_->device(), stream_);  // refused, capture intact
  if (dst != nullptr) {
    EXPECT_EQ(cudaMemcpyAsync(dst, src, MiB, cudaMemcpyDeviceToDevice, stream_), cudaSuccess);
  }
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess);
  ASSERT_NE(dst, nullptr) << ghtier_torch_last_error(0);
  EXPECT_EQ(too_big, nullptr);
  EXPECT_NE(std::string(ghtier_torch_last_error(0)).find("capture reserve"), std::string::npos);
  const auto during = statistics_of(0);
  EXPECT_EQ(during.capture_allocations, 1u);
  EXPECT_GE(during.capture_reserve_used_bytes, MiB);
  EXPECT_EQ(runtime_->budget_used(ghtier::MemoryMode::device), device_used);  // nothing new was allocated

  // Poison, then replay, on one stream: stream_ does not wait for the legacy stream's cudaMemset.
  ASSERT_EQ(cudaMemsetAsync(dst, 0xEE, MiB, stream_), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, stream_), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  std::vector<unsigned char> out(MiB);
  ASSERT_EQ(cudaMemcpy(out.data(), dst, MiB, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_TRUE(out == host);
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  ghtier_torch_free_0(dst, MiB, runtime_->device(), stream_);
  const auto after = statistics_of(0);
  EXPECT_EQ(after.capture_reserve_used_bytes, 0u);
  EXPECT_EQ(after.current_allocations, 0u);
  EXPECT_EQ(cudaFree(src), cudaSuccess);
}

TEST_F(TorchAllocatorGpu, FreeDuringCaptureIsHeldUntilTheCaptureEnds) {
  bind(0, GHTIER_MODE_DEVICE, 2 * MiB);
  void* before = ghtier_torch_alloc_0(3 * MiB, runtime_->device(), stream_);  // made before the capture
  ASSERT_NE(before, nullptr) << ghtier_torch_last_error(0);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  const std::size_t device_used = runtime_->budget_used(ghtier::MemoryMode::device);

  ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
  void* inside = ghtier_torch_alloc_0(MiB, runtime_->device(), stream_);
  ghtier_torch_free_0(before, 3 * MiB, runtime_->device(), stream_);  // held: no free node, no broken capture
  if (inside != nullptr) {
    EXPECT_EQ(cudaMemsetAsync(inside, 0x11, MiB, stream_), cudaSuccess);
  }
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess);  // the capture survived
  ASSERT_NE(inside, nullptr) << ghtier_torch_last_error(0);
  auto s = statistics_of(0);
  EXPECT_EQ(s.deferred_free_bytes, 3 * MiB);
  EXPECT_EQ(s.deferred_frees, 1u);
  EXPECT_EQ(runtime_->budget_used(ghtier::MemoryMode::device), device_used);  // not freed yet
  size_t nodes = 0;
  ASSERT_EQ(cudaGraphGetNodes(graph, nullptr, &nodes), cudaSuccess);
  EXPECT_EQ(nodes, 1u);  // the memset only: neither an allocation nor a free node
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);

  // The next allocation outside a capture releases what was held.
  void* after = ghtier_torch_alloc_0(4096, runtime_->device(), stream_);
  ASSERT_NE(after, nullptr) << ghtier_torch_last_error(0);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  s = statistics_of(0);
  EXPECT_EQ(s.deferred_free_bytes, 0u);
  EXPECT_EQ(runtime_->budget_used(ghtier::MemoryMode::device), device_used - 3 * MiB + 4096);
  // The held block is gone: its address is free, or (the pool reusing it) the new allocation's.
  const auto record = runtime_->find(before);
  EXPECT_TRUE(!record.has_value() || record->base == after);
  ghtier_torch_free_0(after, 4096, runtime_->device(), stream_);
  ghtier_torch_free_0(inside, MiB, runtime_->device(), stream_);
}

// The freed-block cache (GHTIER_TORCH_CACHE_FREED_BLOCKS) under a random mix of sizes on two streams: every
// live block keeps the bytes written into it (no block is handed out twice), a hit is always a block freed on
// the same stream in the same size class, and emptying the cache gives the runtime back its device bytes.
TEST_F(TorchAllocatorGpu, CachedBlocksAreReusedPerStreamAndGivenBackByEmptyCache) {
  auto rng = ghtier::test::fresh_rng();
  cudaStream_t other = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&other, cudaStreamNonBlocking), cudaSuccess);
  const cudaStream_t streams[2] = {stream_, other};
  const std::size_t device_before = runtime_->budget_used(ghtier::MemoryMode::device);
  const std::size_t runtime_live_before = runtime_->statistics(ghtier::MemoryMode::device).current_bytes;
  ghtier_torch_bind_options_t o{};
  o.struct_size = sizeof(o);
  o.mode = GHTIER_MODE_DEVICE;
  o.flags = GHTIER_TORCH_CACHE_FREED_BLOCKS;
  ASSERT_STATUS(ghtier_torch_bind(0, rt_, &o), GHTIER_SUCCESS);

  struct Live {
    std::size_t bytes;
    int stream;
    unsigned char value;
  };
  std::map<void*, Live> live;
  std::map<void*, std::pair<int, std::size_t>> cached;  // what the model says the cache holds: stream, class
  std::vector<unsigned char> host(24 * MiB);
  auto verify_and_free = [&](void* p) {
    const Live l = live.at(p);
    ASSERT_EQ(cudaMemcpyAsync(host.data(), p, l.bytes, cudaMemcpyDeviceToHost, streams[l.stream]), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(streams[l.stream]), cudaSuccess);
    for (std::size_t i = 0; i < l.bytes; i += 61) {
      ASSERT_EQ(host[i], l.value) << "byte " << i << " of a live block was overwritten: handed out twice?";
    }
    ASSERT_EQ(host[l.bytes - 1], l.value);
    const auto before = statistics_of(0);
    ghtier_torch_free_0(p, static_cast<ptrdiff_t>(l.bytes), runtime_->device(), streams[l.stream]);
    const auto after = statistics_of(0);
    if (after.cached_blocks == before.cached_blocks + 1) {
      cached[p] = {l.stream, after.cached_bytes - before.cached_bytes};
    }
    live.erase(p);
  };
  for (int step = 0; step < 600; ++step) {
    if (live.empty() || rng() % 100 < 55) {
      const std::size_t family = rng() % 10;
      const std::size_t bytes = family < 6   ? 1 + rng() % (64 * 1024)
                                : family < 9 ? MiB + rng() % (3 * MiB)
                                             : 16 * MiB + rng() % (8 * MiB);
      const int s = static_cast<int>(rng() % 2);
      const auto before = statistics_of(0);
      void* p = ghtier_torch_alloc_0(static_cast<ptrdiff_t>(bytes), runtime_->device(), streams[s]);
      ASSERT_NE(p, nullptr) << ghtier_torch_last_error(0);
      ASSERT_EQ(live.count(p), 0u) << "a live block handed out again";
      const auto after = statistics_of(0);
      if (after.cache_hits == before.cache_hits + 1) {
        const auto it = cached.find(p);
        ASSERT_NE(it, cached.end()) << "a hit that is no block the cache was given";
        EXPECT_EQ(it->second.first, s) << "a block freed on one stream handed out on the other";
        EXPECT_EQ(it->second.second, ghtier::capi::TorchBlockCache::size_class(bytes)) << "another size class";
      }
      cached.erase(p);
      const auto value = static_cast<unsigned char>(1 + rng() % 254);
      ASSERT_EQ(cudaMemsetAsync(p, 0xEE, bytes, streams[s]), cudaSuccess);  // poison, then the block's own value
      ASSERT_EQ(cudaMemsetAsync(p, value, bytes, streams[s]), cudaSuccess);
      live[p] = Live{bytes, s, value};
    } else {
      auto it = live.begin();
      std::advance(it, static_cast<long>(rng() % live.size()));
      verify_and_free(it->first);
    }
    if (HasFatalFailure()) break;
  }
  while (!live.empty() && !HasFatalFailure()) verify_and_free(live.begin()->first);
  auto s = statistics_of(0);
  EXPECT_GT(s.cache_hits, 0u);
  EXPECT_GT(s.cache_misses, 0u);
  EXPECT_EQ(s.current_bytes, 0u);
  EXPECT_EQ(s.current_allocations, 0u);
  EXPECT_EQ(s.device_bytes, 0u) << "live bytes exclude cached blocks";
  EXPECT_GT(s.cached_bytes, 0u);
  EXPECT_LE(s.cached_bytes, s.cache_limit_bytes);
  // Cached blocks stay allocated in the runtime, on its budget.
  EXPECT_EQ(runtime_->budget_used(ghtier::MemoryMode::device), device_before + s.cached_bytes);
  ASSERT_STATUS(ghtier_torch_empty_cache(0), GHTIER_SUCCESS);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  s = statistics_of(0);
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.cached_blocks, 0u);
  EXPECT_EQ(runtime_->budget_used(ghtier::MemoryMode::device), device_before);
  EXPECT_EQ(runtime_->statistics(ghtier::MemoryMode::device).current_bytes, runtime_live_before);
  EXPECT_STATUS(ghtier_torch_unbind(0), GHTIER_SUCCESS);
  EXPECT_EQ(cudaStreamDestroy(other), cudaSuccess);  // after the cache that held its blocks is empty
}

// A device budget that the cache's blocks fill: an allocation the budget refuses empties the cache and
// succeeds on its retry.
TEST_F(TorchAllocatorGpu, BudgetRefusalEmptiesTheCacheAndRetries) {
  runtime_->set_budget(ghtier::MemoryMode::device, 16 * MiB);
  ghtier_torch_bind_options_t o{};
  o.struct_size = sizeof(o);
  o.mode = GHTIER_MODE_DEVICE;
  o.flags = GHTIER_TORCH_CACHE_FREED_BLOCKS;
  ASSERT_STATUS(ghtier_torch_bind(0, rt_, &o), GHTIER_SUCCESS);
  void* blocks[4] = {};
  for (void*& p : blocks) {
    p = ghtier_torch_alloc_0(3 * MiB, runtime_->device(), stream_);
    ASSERT_NE(p, nullptr) << ghtier_torch_last_error(0);
  }
  for (void* p : blocks) ghtier_torch_free_0(p, 3 * MiB, runtime_->device(), stream_);
  EXPECT_EQ(statistics_of(0).cached_bytes, 12 * MiB);
  EXPECT_EQ(runtime_->budget_used(ghtier::MemoryMode::device), 12 * MiB);
  void* big = ghtier_torch_alloc_0(8 * MiB, runtime_->device(), stream_);  // 12 + 8 > 16: flush, retry
  ASSERT_NE(big, nullptr) << ghtier_torch_last_error(0);
  auto s = statistics_of(0);
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.failed_allocations, 0u);
  EXPECT_EQ(runtime_->budget_used(ghtier::MemoryMode::device), 8 * MiB);
  void* too_big = ghtier_torch_alloc_0(10 * MiB, runtime_->device(), stream_);  // refused after the retry too
  EXPECT_EQ(too_big, nullptr);
  EXPECT_NE(std::string(ghtier_torch_last_error(0)).find("10485760 bytes (device)"), std::string::npos)
      << ghtier_torch_last_error(0);
  ghtier_torch_free_0(big, 8 * MiB, runtime_->device(), stream_);
  ASSERT_STATUS(ghtier_torch_empty_cache(0), GHTIER_SUCCESS);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  EXPECT_EQ(runtime_->budget_used(ghtier::MemoryMode::device), 0u);
}

// A policy slot caches only while the runtime's policy places on the device alone; replacing the policy
// empties the cache at the next allocation.
TEST_F(TorchAllocatorGpu, PolicySlotCachesOnlyUnderDeviceOnly) {
  runtime_->set_policy(ghtier::make_builtin_policy(ghtier::BuiltinPolicy::device_only));
  ghtier_torch_bind_options_t o{};
  o.struct_size = sizeof(o);
  o.mode = GHTIER_TORCH_MODE_POLICY;
  o.flags = GHTIER_TORCH_CACHE_FREED_BLOCKS;
  ASSERT_STATUS(ghtier_torch_bind(1, rt_, &o), GHTIER_SUCCESS);
  void* a = ghtier_torch_alloc_1(5000, runtime_->device(), stream_);
  ASSERT_NE(a, nullptr) << ghtier_torch_last_error(1);
  ghtier_torch_free_1(a, 5000, runtime_->device(), stream_);
  void* b = ghtier_torch_alloc_1(4800, runtime_->device(), stream_);  // the same class (5120) on the same stream
  EXPECT_EQ(b, a);
  EXPECT_EQ(statistics_of(1).cache_hits, 1u);
  ghtier_torch_free_1(b, 4800, runtime_->device(), stream_);
  EXPECT_EQ(statistics_of(1).cached_blocks, 1u);
  runtime_->set_policy(ghtier::make_builtin_policy(ghtier::BuiltinPolicy::spill));
  void* c = ghtier_torch_alloc_1(5000, runtime_->device(), stream_);
  ASSERT_NE(c, nullptr) << ghtier_torch_last_error(1);
  auto s = statistics_of(1);
  EXPECT_EQ(s.cache_hits, 1u);
  EXPECT_EQ(s.cached_blocks, 0u) << "the cache was kept under a policy that may place elsewhere";
  ghtier_torch_free_1(c, 5000, runtime_->device(), stream_);
  EXPECT_EQ(statistics_of(1).cached_blocks, 0u) << "a block of a spill policy went to the cache";
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  EXPECT_EQ(runtime_->budget_used(ghtier::MemoryMode::device), 0u);
}

// PyTorch passes its default stream as 0. That is CUDA's legacy default stream: a free on it must wait for
// the work already queued there. (It used to select the synchronous forms: the pinned block was handed out
// again at once, while a copy queued on the default stream had still to read it.)
TEST_F(TorchAllocatorGpu, FreeOnTheDefaultStreamWaitsForItsQueuedWork) {
  bind(0, GHTIER_MODE_PINNED_HOST);
  constexpr std::size_t n = MiB;
  std::mt19937_64 rng(std::random_device{}());
  std::vector<unsigned char> expected(n);
  for (auto& b : expected) b = static_cast<unsigned char>(rng());
  void* block = ghtier_torch_alloc_0(static_cast<ptrdiff_t>(n), runtime_->device(), nullptr);
  ASSERT_NE(block, nullptr) << ghtier_torch_last_error(0);
  std::memcpy(block, expected.data(), n);
  void* device_copy = nullptr;
  ASSERT_EQ(cudaMalloc(&device_copy, n), cudaSuccess);
  ASSERT_EQ(cudaMemset(device_copy, 0xEE, n), cudaSuccess);  // poison

  // Hold the default stream until the block has been freed and an allocation of the same size made.
  std::atomic<bool> go{false};
  auto hold = [](void* flag) {
    while (!static_cast<std::atomic<bool>*>(flag)->load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  ASSERT_EQ(cudaLaunchHostFunc(cudaStreamLegacy, hold, &go), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(device_copy, block, n, cudaMemcpyHostToDevice, nullptr), cudaSuccess);
  ghtier_torch_free_0(block, static_cast<ptrdiff_t>(n), runtime_->device(), nullptr);
  void* next = ghtier_torch_alloc_0(static_cast<ptrdiff_t>(n), runtime_->device(), nullptr);
  ASSERT_NE(next, nullptr) << ghtier_torch_last_error(0);
  EXPECT_NE(next, block) << "the block was handed out again before the default stream's copy had read it";
  std::memset(next, 0x5A, n);  // the new owner writes at once, as a CPU-side user would
  go = true;
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

  std::vector<unsigned char> got(n);
  ASSERT_EQ(cudaMemcpy(got.data(), device_copy, n, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_TRUE(got == expected) << "the queued copy read memory that had already been reused";
  ghtier_torch_free_0(next, static_cast<ptrdiff_t>(n), runtime_->device(), nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(statistics_of(0).current_bytes, 0u);
  EXPECT_EQ(cudaFree(device_copy), cudaSuccess);
}

}  // namespace
