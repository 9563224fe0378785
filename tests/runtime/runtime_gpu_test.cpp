// The Runtime on a real GPU: every mode round-trips fresh random data through a kernel and the CPU where
// each can reach it; policies' placements are honoured; relocation keeps the bytes (and a refused one the
// old buffer); advise and prefetch show in cudaMemRangeGetAttribute; ScopedAdvice restores; residency
// answers; budgets + spill under 16 threads.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "ghtier/policy/builtin_policy.hpp"
#include "ghtier/runtime/runtime.hpp"
#include "ghtier/runtime/scoped_advice.hpp"
#include "runtime_test_kernels.hpp"
#include "test_support.hpp"

using namespace ghtier;

#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << #call << ": " << cudaGetErrorString(cudaGetLastError())

namespace {
AdviceSet read_mostly_phase() {
  AdviceSet a;
  a.read_mostly = true;
  return a;
}

constexpr std::size_t KiB = std::size_t{1} << 10;
constexpr std::size_t MiB = std::size_t{1} << 20;

using ghtier::test::random_bytes;

// Writes `data` into a buffer (CPU where it can, else a copy), adds 1 to every byte on the GPU (in place
// where the GPU can reach the mode, else through a device scratch buffer) and reads it back, poisoned first.
void round_trip(const Runtime& runtime, const Buffer& b, const std::vector<unsigned char>& data, cudaStream_t stream) {
  const ModeAccess access = describe_mode(runtime.platform(), b.mode());
  const std::size_t n = data.size();
  auto* p = b.data_as<unsigned char>();
  if (access.cpu_access) {
    std::memcpy(p, data.data(), n);
  } else {
    CUDA_OK(cudaMemcpy(p, data.data(), n, cudaMemcpyDefault));
    // The same as below: a pageable H2D cudaMemcpy may return before its DMA lands, and `stream` (non-
    // blocking) does not wait for the legacy stream: without this the kernel read bytes still in flight
    // (17 of 3 MiB + 17 wrong in the GPU check of 2026-12-03).
    CUDA_OK(cudaDeviceSynchronize());
  }
  if (access.gpu_access) {
    CUDA_OK(test::launch_add_one(p, n, stream));
  } else {
    unsigned char* scratch = nullptr;
    CUDA_OK(cudaMalloc(reinterpret_cast<void**>(&scratch), n));
    CUDA_OK(cudaMemcpy(scratch, p, n, cudaMemcpyDefault));
    // A pageable H2D cudaMemcpy may return before its DMA lands (CUDA's documented sync behaviour), and
    // `stream` does not wait on the legacy stream: wait for the device before the kernel reads scratch.
    CUDA_OK(cudaDeviceSynchronize());
    CUDA_OK(test::launch_add_one(scratch, n, stream));
    CUDA_OK(cudaStreamSynchronize(stream));
    CUDA_OK(cudaMemcpy(p, scratch, n, cudaMemcpyDefault));
    CUDA_OK(cudaFree(scratch));
  }
  CUDA_OK(cudaStreamSynchronize(stream));
  std::vector<unsigned char> back(n, 0xEE);
  if (access.cpu_access) {
    std::memcpy(back.data(), p, n);
  } else {
    CUDA_OK(cudaMemcpy(back.data(), p, n, cudaMemcpyDefault));
  }
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < n; ++i) wrong += back[i] != static_cast<unsigned char>(data[i] + 1);
  EXPECT_EQ(wrong, 0u) << to_string(b.mode()) << ": " << wrong << " of " << n << " bytes wrong";
}

int range_int(cudaMemRangeAttribute attribute, const void* p, std::size_t bytes) {
  int value = -12345;
  EXPECT_EQ(cudaMemRangeGetAttribute(&value, sizeof(value), attribute, p, bytes), cudaSuccess);
  return value;
}

cudaMemLocationType range_type(cudaMemRangeAttribute attribute, const void* p, std::size_t bytes) {
  cudaMemLocationType value = cudaMemLocationTypeInvalid;
  EXPECT_EQ(cudaMemRangeGetAttribute(&value, sizeof(value), attribute, p, bytes), cudaSuccess);
  return value;
}

bool accessed_by(const void* p, std::size_t bytes, int device) {
  std::array<int, 32> ids{};
  EXPECT_EQ(cudaMemRangeGetAttribute(ids.data(), sizeof(ids), cudaMemRangeAttributeAccessedBy, p, bytes), cudaSuccess);
  return std::find(ids.begin(), ids.end(), device) != ids.end();
}

bool is_host_type(cudaMemLocationType t) { return t == cudaMemLocationTypeHost || t == cudaMemLocationTypeHostNuma; }

class RuntimeGpu : public ::testing::Test {
 protected:
  void SetUp() override { GHTIER_REQUIRE_GPU(); }
};
}  // namespace

TEST_F(RuntimeGpu, EveryModeRoundTripsRandomData) {
  Runtime runtime;
  EXPECT_FALSE(runtime.offline());
  auto rng = test::fresh_rng();
  cudaStream_t stream = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  for (MemoryMode mode : all_memory_modes) {
    for (std::size_t n : {std::size_t{1}, 4 * KiB + 3, 3 * MiB + 17}) {
      Buffer b = runtime.allocate_in(mode, n);
      ASSERT_EQ(b.mode(), mode);
      round_trip(runtime, b, random_bytes(rng, n), stream);
    }
    // Stream-ordered allocation and free (the copies in round_trip run on the legacy stream: wait first).
    Buffer s = runtime.allocate_in(mode, MiB, stream, "stream-ordered");
    CUDA_OK(cudaStreamSynchronize(stream));
    round_trip(runtime, s, random_bytes(rng, MiB), stream);
    EXPECT_EQ(s.stream(), stream);
  }
  CUDA_OK(cudaStreamSynchronize(stream));
  for (MemoryMode mode : all_memory_modes) EXPECT_EQ(runtime.statistics(mode).current_bytes, 0u) << to_string(mode);
  CUDA_OK(cudaStreamDestroy(stream));
}

TEST_F(RuntimeGpu, EveryPolicyPlacesAsItResolvesAndTheDataRoundTrips) {
  auto rng = test::fresh_rng();
  RuntimeOptions options;
  options.device_budget = 4 * MiB;
  Runtime runtime(options);
  const std::array<PlacementRequest, 5> requests{{
      {MiB, Accessor::gpu, AccessFrequency::hot, false, "hot"},
      {8 * MiB, Accessor::gpu, AccessFrequency::warm, true, "big, past the budget"},
      {2 * MiB, Accessor::both, AccessFrequency::warm, false, "shared"},
      {MiB, Accessor::both, AccessFrequency::cold, true, "cold shared"},
      {64 * KiB, Accessor::cpu, AccessFrequency::streamed_once, false, "cpu"},
  }};
  for (BuiltinPolicy kind : all_builtin_policies) {
    runtime.set_policy(make_builtin_policy(kind, 2 * MiB));
    for (const PlacementRequest& r : requests) {
      if (kind == BuiltinPolicy::device_only && r.bytes > 4 * MiB) {
        EXPECT_GHTIER_ERROR(Buffer b = runtime.allocate(r), ErrorCode::out_of_budget);
        continue;
      }
      const Placement expected = runtime.resolve(r);
      Buffer b = runtime.allocate(r);
      EXPECT_TRUE(b.placement().same_decision(expected)) << to_string(kind) << " " << r.tag;
      EXPECT_EQ(b.mode(), expected.mode);
      if (b.mode() == MemoryMode::managed && expected.preferred_location != Location::none) {
        const cudaMemLocationType t = range_type(cudaMemRangeAttributePreferredLocationType, b.data(), b.size());
        if (expected.preferred_location == Location::device) {
          EXPECT_EQ(t, cudaMemLocationTypeDevice) << to_string(kind) << " " << r.tag;
        } else {
          EXPECT_TRUE(is_host_type(t)) << to_string(kind) << " " << r.tag << ": " << t;
        }
        EXPECT_EQ(range_int(cudaMemRangeAttributeReadMostly, b.data(), b.size()), expected.read_mostly ? 1 : 0);
        EXPECT_EQ(accessed_by(b.data(), b.size(), runtime.device()), expected.accessed_by.gpu);
      }
      round_trip(runtime, b, random_bytes(rng, b.size()), nullptr);
    }
  }
}

TEST_F(RuntimeGpu, RelocationKeepsTheBytes) {
  auto rng = test::fresh_rng();
  Runtime runtime;
  cudaStream_t stream = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const std::size_t n = 5 * MiB + 123;
  const std::vector<unsigned char> data = random_bytes(rng, n);
  for (cudaStream_t s : {static_cast<cudaStream_t>(nullptr), stream}) {
    Buffer b = runtime.allocate_in(MemoryMode::pinned_host, n, nullptr, "moving");
    std::memcpy(b.data(), data.data(), n);
    const std::array<MemoryMode, 6> chain{MemoryMode::device, MemoryMode::managed,     MemoryMode::system,
                                          MemoryMode::device, MemoryMode::pinned_host, MemoryMode::system};
    for (MemoryMode next : chain) {
      const void* old = b.data();
      b = runtime.relocate_to(std::move(b), next, s);
      EXPECT_EQ(b.mode(), next);
      EXPECT_EQ(b.size(), n);
      EXPECT_EQ(b.tag(), "moving");
      EXPECT_EQ(b.stream(), s);
      EXPECT_NE(b.data(), nullptr);
      (void)old;
      std::size_t live = 0;
      for (MemoryMode m : all_memory_modes) live += runtime.statistics(m).current_allocations;
      EXPECT_EQ(live, 1u) << "the old allocation is freed after the copy";
    }
    CUDA_OK(cudaStreamSynchronize(stream));
    std::vector<unsigned char> back(n, 0xEE);
    std::memcpy(back.data(), b.data(), n);  // system memory: the CPU reads it
    EXPECT_TRUE(back == data) << "relocation changed the bytes";
  }
  // The buffer's own stream is waited for: a slow producer on one stream, the relocation on another.
  cudaStream_t producer = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&producer, cudaStreamNonBlocking));
  Buffer d = runtime.allocate_in(MemoryMode::device, n, producer);
  CUDA_OK(cudaMemcpyAsync(d.data(), data.data(), n, cudaMemcpyDefault, producer));
  CUDA_OK(cudaStreamSynchronize(producer));
  CUDA_OK(test::launch_slow_add_one(d.data_as<unsigned char>(), n, 50000, producer));
  Buffer h = runtime.relocate_to(std::move(d), MemoryMode::pinned_host, stream);
  CUDA_OK(cudaStreamSynchronize(stream));
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < n; ++i) wrong += h.data_as<unsigned char>()[i] != static_cast<unsigned char>(data[i] + 1);
  EXPECT_EQ(wrong, 0u) << "the copy did not wait for the producer's stream";
  h.reset();
  CUDA_OK(cudaStreamSynchronize(producer));
  CUDA_OK(cudaStreamDestroy(producer));
  CUDA_OK(cudaStreamDestroy(stream));
  // Foreign buffers are refused.
  Runtime other;
  Buffer theirs = other.allocate_in(MemoryMode::device, KiB);
  EXPECT_GHTIER_ERROR(Buffer b = runtime.relocate_to(std::move(theirs), MemoryMode::pinned_host),
                      ErrorCode::invalid_argument);
  EXPECT_TRUE(theirs) << "a refused relocation leaves the buffer as it was";
}

// The synchronous form's bytes have landed when it returns, even from pageable memory (where plain
// cudaMemcpy returns once the bytes are staged): a kernel on a non-blocking stream reads them at once. The
// stress test caught the old form (a relocated buffer read 0x88 where 0x56 was written).
TEST_F(RuntimeGpu, ASynchronousRelocationHasLandedWhenItReturns) {
  auto rng = test::fresh_rng();
  Runtime runtime;
  cudaStream_t reader = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&reader, cudaStreamNonBlocking));
  const std::size_t n = 64 * MiB + 5;
  for (int round = 0; round < 6; ++round) {
    const std::vector<unsigned char> data = random_bytes(rng, n);
    Buffer b = runtime.allocate_in(MemoryMode::system, n);
    std::memcpy(b.data(), data.data(), n);
    b = runtime.relocate_to(std::move(b), MemoryMode::device);
    CUDA_OK(test::launch_add_one(b.data_as<unsigned char>(), n, reader));
    CUDA_OK(cudaStreamSynchronize(reader));
    std::vector<unsigned char> back(n, 0xEE);
    CUDA_OK(cudaMemcpy(back.data(), b.data(), n, cudaMemcpyDefault));
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < n; ++i) wrong += back[i] != static_cast<unsigned char>(data[i] + 1);
    ASSERT_EQ(wrong, 0u) << "round " << round << ": the kernel read bytes the relocation had not yet written";
  }
  CUDA_OK(cudaStreamDestroy(reader));
}

// A relocation the target tier refuses (past its budget) leaves the device buffer valid, tracked and with
// its bytes, on real resources, whether the move was asked stream-ordered or not; a later move still works.
TEST_F(RuntimeGpu, ARefusedRelocationKeepsTheOldBuffer) {
  auto rng = test::fresh_rng();
  RuntimeOptions options;
  options.pinned_host_budget = MiB;
  Runtime runtime(options);
  cudaStream_t stream = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const std::size_t n = 3 * MiB + 17;
  const std::vector<unsigned char> data = random_bytes(rng, n);
  Buffer d = runtime.allocate_in(MemoryMode::device, n, nullptr, "kept");
  CUDA_OK(cudaMemcpy(d.data(), data.data(), n, cudaMemcpyDefault));
  void* const before = d.data();
  for (cudaStream_t s : {static_cast<cudaStream_t>(nullptr), stream}) {
    EXPECT_GHTIER_ERROR(d = runtime.relocate_to(std::move(d), MemoryMode::pinned_host, s), ErrorCode::out_of_budget);
    ASSERT_EQ(d.data(), before);
    EXPECT_EQ(d.size(), n);
    EXPECT_EQ(d.mode(), MemoryMode::device);
    ASSERT_TRUE(runtime.find(before).has_value()) << "the old allocation is no longer the runtime's";
    EXPECT_EQ(runtime.statistics(MemoryMode::device).current_allocations, 1u);
    EXPECT_EQ(runtime.statistics(MemoryMode::pinned_host).current_allocations, 0u);
  }
  std::vector<unsigned char> back(n, 0xEE);
  CUDA_OK(cudaMemcpy(back.data(), d.data(), n, cudaMemcpyDefault));
  EXPECT_TRUE(back == data) << "a refused relocation changed the bytes";
  d = runtime.relocate_to(std::move(d), MemoryMode::managed, stream);
  CUDA_OK(cudaStreamSynchronize(stream));
  EXPECT_EQ(std::memcmp(d.data(), data.data(), n), 0) << "the move after a refused one lost the bytes";
  d.reset();
  CUDA_OK(cudaStreamDestroy(stream));
}

TEST_F(RuntimeGpu, AdviseAndPrefetchShowInRangeAttributes) {
  Runtime runtime;
  const int dev = runtime.device();
  Buffer m = runtime.allocate_in(MemoryMode::managed, 4 * MiB);
  const void* p = m.data();
  const std::size_t n = m.size();
  EXPECT_EQ(range_int(cudaMemRangeAttributeReadMostly, p, n), 0);
  runtime.advise(m, Advice::set_read_mostly);
  EXPECT_EQ(range_int(cudaMemRangeAttributeReadMostly, p, n), 1);
  runtime.advise(m, Advice::unset_read_mostly);
  EXPECT_EQ(range_int(cudaMemRangeAttributeReadMostly, p, n), 0);

  runtime.advise(m, Advice::set_preferred_location, Location::device);
  EXPECT_EQ(range_type(cudaMemRangeAttributePreferredLocationType, p, n), cudaMemLocationTypeDevice);
  EXPECT_EQ(range_int(cudaMemRangeAttributePreferredLocationId, p, n), dev);
  runtime.advise(m, Advice::set_preferred_location, Location::host);
  EXPECT_TRUE(is_host_type(range_type(cudaMemRangeAttributePreferredLocationType, p, n)));
  runtime.advise(m, Advice::unset_preferred_location);
  EXPECT_EQ(range_type(cudaMemRangeAttributePreferredLocationType, p, n), cudaMemLocationTypeInvalid);

  EXPECT_FALSE(accessed_by(p, n, dev));
  runtime.advise(m, Advice::set_accessed_by, Location::device);
  EXPECT_TRUE(accessed_by(p, n, dev));
  runtime.advise(m, Advice::unset_accessed_by, Location::device);
  EXPECT_FALSE(accessed_by(p, n, dev));

  // Part of the range: the attribute of that part changes, the rest does not.
  runtime.advise(static_cast<const char*>(p) + MiB, MiB, Advice::set_read_mostly);
  EXPECT_EQ(range_int(cudaMemRangeAttributeReadMostly, static_cast<const char*>(p) + MiB, MiB), 1);
  EXPECT_EQ(range_int(cudaMemRangeAttributeReadMostly, p, n), 0);

  cudaStream_t stream = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  runtime.prefetch(m, Location::device, stream);
  CUDA_OK(cudaStreamSynchronize(stream));
  EXPECT_EQ(range_type(cudaMemRangeAttributeLastPrefetchLocationType, p, n), cudaMemLocationTypeDevice);
  EXPECT_EQ(range_int(cudaMemRangeAttributeLastPrefetchLocationId, p, n), dev);
  runtime.prefetch(m, Location::host, stream);
  CUDA_OK(cudaStreamSynchronize(stream));
  EXPECT_TRUE(is_host_type(range_type(cudaMemRangeAttributeLastPrefetchLocationType, p, n)));
  CUDA_OK(cudaStreamDestroy(stream));

  // System memory without pageable access, device and pinned memory: refused before CUDA is asked.
  Buffer d = runtime.allocate_in(MemoryMode::device, KiB);
  EXPECT_GHTIER_ERROR(runtime.prefetch(d, Location::host), ErrorCode::unsupported);
  if (!runtime.platform().gpu_reads_pageable) {
    Buffer s = runtime.allocate_in(MemoryMode::system, KiB);
    EXPECT_GHTIER_ERROR(runtime.prefetch(s, Location::device), ErrorCode::unsupported);
    EXPECT_GHTIER_ERROR(runtime.advise(s, Advice::set_read_mostly), ErrorCode::unsupported);
  }
}

TEST_F(RuntimeGpu, UnifiedHotGpuDataIsPreferredOnTheDeviceAndPrefetched) {
  RuntimeOptions options;
  options.policy = make_builtin_policy(BuiltinPolicy::unified);
  Runtime runtime(options);
  if (runtime.platform().host_access == HostAccess::ats) GTEST_SKIP() << "ATS: unified uses system memory here";
  Buffer b = runtime.allocate({2 * MiB, Accessor::gpu, AccessFrequency::hot, true, "w"});
  ASSERT_EQ(b.mode(), MemoryMode::managed);
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_EQ(range_type(cudaMemRangeAttributePreferredLocationType, b.data(), b.size()), cudaMemLocationTypeDevice);
  EXPECT_EQ(range_type(cudaMemRangeAttributeLastPrefetchLocationType, b.data(), b.size()), cudaMemLocationTypeDevice);
  EXPECT_EQ(range_int(cudaMemRangeAttributeReadMostly, b.data(), b.size()), 1);
  const Residency r = runtime.residency(b);
  EXPECT_EQ(r.where, ResidencyKind::device);
  EXPECT_TRUE(r.approximate());
}

TEST_F(RuntimeGpu, ScopedAdviceAppliesForAPhaseAndRestores) {
  Runtime runtime;
  const int dev = runtime.device();
  Buffer m = runtime.allocate_in(MemoryMode::managed, 2 * MiB);
  runtime.advise(m, Advice::set_preferred_location, Location::host);
  {
    AdviceSet phase;
    phase.read_mostly = true;
    phase.preferred_location = Location::device;
    phase.accessed_by.gpu = true;
    phase.prefetch_to = Location::device;
    ScopedAdvice scope(runtime, m, phase);
    CUDA_OK(cudaDeviceSynchronize());
    EXPECT_EQ(range_int(cudaMemRangeAttributeReadMostly, m.data(), m.size()), 1);
    EXPECT_EQ(range_type(cudaMemRangeAttributePreferredLocationType, m.data(), m.size()), cudaMemLocationTypeDevice);
    EXPECT_TRUE(accessed_by(m.data(), m.size(), dev));
    EXPECT_EQ(range_type(cudaMemRangeAttributeLastPrefetchLocationType, m.data(), m.size()), cudaMemLocationTypeDevice);
  }
  EXPECT_EQ(range_int(cudaMemRangeAttributeReadMostly, m.data(), m.size()), 0);
  EXPECT_TRUE(is_host_type(range_type(cudaMemRangeAttributePreferredLocationType, m.data(), m.size())));
  EXPECT_FALSE(accessed_by(m.data(), m.size(), dev));
  // A phase that asks for what is already there changes nothing on exit.
  runtime.advise(m, Advice::set_read_mostly);
  { ScopedAdvice scope(runtime, m, read_mostly_phase()); }
  EXPECT_EQ(range_int(cudaMemRangeAttributeReadMostly, m.data(), m.size()), 1);
}

TEST_F(RuntimeGpu, ResidencyAnswersMatch) {
  Runtime runtime;
  const Platform& platform = runtime.platform();
  Buffer d = runtime.allocate_in(MemoryMode::device, MiB);
  const Residency rd = runtime.residency(d);
  EXPECT_EQ(rd.where, ResidencyKind::device);
  EXPECT_EQ(rd.device_bytes, MiB);
  EXPECT_FALSE(rd.approximate());

  Buffer p = runtime.allocate_in(MemoryMode::pinned_host, MiB);
  const Residency rp = runtime.residency(p);
  EXPECT_EQ(rp.where, ResidencyKind::host);
  EXPECT_EQ(rp.host_bytes, MiB);
  if (rp.numa_node >= 0 && platform.attributes.host_numa_id >= 0) {
    EXPECT_EQ(rp.numa_node, platform.attributes.host_numa_id);
  }

  Buffer m = runtime.allocate_in(MemoryMode::managed, 2 * MiB);
  const Residency fresh = runtime.residency(m);
  EXPECT_EQ(fresh.where, ResidencyKind::unknown);
  EXPECT_EQ(fresh.source, ResidencySource::none);
  runtime.advise(m, Advice::set_preferred_location, Location::host);
  const Residency preferred = runtime.residency(m);
  EXPECT_EQ(preferred.where, ResidencyKind::host);
  EXPECT_EQ(preferred.source, ResidencySource::preferred_location);
  runtime.prefetch(m, Location::device);
  CUDA_OK(cudaDeviceSynchronize());
  const Residency on_device = runtime.residency(m);
  EXPECT_EQ(on_device.where, ResidencyKind::device);
  EXPECT_EQ(on_device.device_bytes, 2 * MiB);
  EXPECT_EQ(on_device.source, ResidencySource::last_prefetch_location);
  EXPECT_TRUE(on_device.approximate());
  runtime.prefetch(m, Location::host);
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_EQ(runtime.residency(m).where, ResidencyKind::host);

  Buffer s = runtime.allocate_in(MemoryMode::system, 4 * MiB);
  EXPECT_EQ(runtime.residency(s).where, ResidencyKind::not_populated);
  std::memset(s.data(), 3, MiB);
  const Residency rs = runtime.residency(s);
  EXPECT_EQ(rs.where, ResidencyKind::host);
  EXPECT_GE(rs.host_bytes, MiB);  // huge pages may populate more than was touched
  EXPECT_EQ(rs.host_bytes + rs.unknown_bytes, 4 * MiB);
  EXPECT_EQ(rs.source, ResidencySource::page_query);
}

TEST_F(RuntimeGpu, BudgetsAndSpillHoldUnder16Threads) {
  RuntimeOptions options;
  constexpr std::size_t budget = 64 * MiB;
  options.device_budget = budget;
  Runtime runtime(options);
  std::mt19937_64 seeds = test::fresh_rng();
  std::vector<std::uint64_t> seed(16);
  for (auto& s : seed) s = seeds();
  std::atomic<int> failures{0};
  std::atomic<int> over_budget{0};
  std::atomic<int> spilled{0};
  std::atomic<int> corrupt{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed[static_cast<std::size_t>(t)]);
      std::vector<Buffer> held;
      const auto mark = static_cast<unsigned char>(0x40 + t);
      for (int i = 0; i < 150; ++i) {
        if (!held.empty() && rng() % 3 == 0) {
          const std::size_t k = rng() % held.size();
          unsigned char last = 0;
          if (cudaMemcpy(&last, held[k].data_as<unsigned char>() + held[k].size() - 1, 1, cudaMemcpyDefault) !=
                  cudaSuccess ||
              last != mark) {
            ++corrupt;
          }
          held.erase(held.begin() + static_cast<std::ptrdiff_t>(k));
          continue;
        }
        const std::size_t bytes = 4 * KiB + rng() % (4 * MiB);
        try {
          Buffer b = runtime.allocate({bytes, Accessor::gpu, AccessFrequency::hot, false, "thread"});
          if (b.mode() != MemoryMode::device) ++spilled;
          if (describe_mode(runtime.platform(), b.mode()).cpu_access) {
            std::memset(b.data(), mark, bytes);
          } else if (cudaMemset(b.data(), mark, bytes) != cudaSuccess) {
            ++failures;
          }
          held.push_back(std::move(b));
        } catch (const Error&) {
          ++failures;
        }
        if (runtime.budget_used(MemoryMode::device) > budget) ++over_budget;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(over_budget.load(), 0);
  EXPECT_EQ(corrupt.load(), 0);
  EXPECT_GT(spilled.load(), 0);
  EXPECT_LE(runtime.statistics(MemoryMode::device).peak_bytes, budget);
  for (MemoryMode m : all_memory_modes) EXPECT_EQ(runtime.statistics(m).current_bytes, 0u);
}
