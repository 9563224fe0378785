// ActivationOffloader on the GPU: layers of random tensors (odd sizes, fresh random data) saved behind the
// work that produced them, device sources overwritten once released, restored through prefetch_layer,
// prefetch into the caller's poisoned buffer, or restore alone, and compared byte for byte; repeated saves
// of one storage copied once; an arena too small refused with its budget named and nothing changed.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ghtier/workloads/activation_offload.hpp"
#include "test_support.hpp"
#include "workload_gpu_test.hpp"

namespace ghtier {
namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;

#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << #call

using ghtier::test::random_bytes;

class ActivationOffloadGpu : public test::WorkloadGpuTest {
 protected:
  // A device tensor filled with `data` by an async copy on stream_ (the "producing work" a save must wait
  // for), from a pinned staging buffer the test keeps alive.
  void* produce(const std::vector<unsigned char>& data, std::vector<Buffer>& keep) {
    Buffer staging = runtime_->allocate_in(MemoryMode::pinned_host, data.size());
    std::memcpy(staging.data(), data.data(), data.size());
    Buffer device = runtime_->allocate_in(MemoryMode::device, data.size());
    EXPECT_EQ(cudaMemcpyAsync(device.data(), staging.data(), data.size(), cudaMemcpyHostToDevice, stream_),
              cudaSuccess);
    void* p = device.data();
    keep.push_back(std::move(staging));
    keep.push_back(std::move(device));
    return p;
  }

  std::vector<unsigned char> read_back(const void* device, std::size_t n) {
    std::vector<unsigned char> out(n, 0);
    EXPECT_EQ(cudaMemcpyAsync(out.data(), device, n, cudaMemcpyDeviceToHost, stream_), cudaSuccess);
    EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    return out;
  }

  void wait_released(ActivationOffloader& offloader, ActivationHandle h) {
    for (int i = 0; i < 200000 && !offloader.device_released(h); ++i) std::this_thread::yield();
    ASSERT_TRUE(offloader.device_released(h)) << "the D2H never finished";
  }
};

TEST_F(ActivationOffloadGpu, LayersRoundTripByteForByte) {
  auto rng = test::fresh_rng();
  ActivationOffloader offloader(*runtime_, *engine_, {.host_arena_bytes = 256 * MiB});
  struct Saved {
    std::vector<unsigned char> data;
    void* device;
    ActivationHandle handle;
    std::size_t layer;
  };
  std::vector<Saved> saved;
  std::vector<Buffer> keep;
  constexpr std::size_t layers = 4;
  for (std::size_t layer = 0; layer < layers; ++layer) {
    offloader.begin_layer(layer);
    for (int t = 0; t < 5; ++t) {
      const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 9 * MiB)(rng);
      auto data = random_bytes(rng, n);
      void* device = produce(data, keep);
      const ActivationHandle h = offloader.save(device, n, stream_);  // no sync: the save waits for stream_
      saved.push_back({std::move(data), device, h, layer});
    }
    offloader.end_layer();
  }
  // The device memory is reused once released: poison every source.
  for (const Saved& s : saved) {
    wait_released(offloader, s.handle);
    CUDA_OK(cudaMemset(s.device, 0xCD, s.data.size()));
  }
  CUDA_OK(cudaDeviceSynchronize());  // the restores' streams do not wait for the legacy stream's memsets
  // Backward: the top layer restored alone, the next ones through prefetch_layer one layer ahead.
  for (std::size_t layer = layers; layer-- > 0;) {
    if (layer > 0) {
      EXPECT_EQ(offloader.prefetch_layer(layer - 1), 5u);
    }
    for (const Saved& s : saved) {
      if (s.layer != layer) continue;
      void* back = offloader.restore(s.handle, stream_);
      ASSERT_NE(back, nullptr);
      EXPECT_EQ(read_back(back, s.data.size()), s.data) << "layer " << layer << ", " << s.data.size() << " bytes";
    }
    for (const Saved& s : saved) {
      if (s.layer == layer) offloader.release(s.handle);
    }
  }
  engine_->synchronize();
  const ActivationOffloadStatistics stats = offloader.statistics();
  EXPECT_EQ(stats.live_handles, 0u);
  EXPECT_EQ(stats.arena_used_bytes, 0u) << "every block went back to the arena";
  std::size_t total = 0;
  for (const Saved& s : saved) total += s.data.size();
  EXPECT_EQ(stats.offloaded_bytes, total);
  EXPECT_EQ(stats.restored_bytes, total);
}

TEST_F(ActivationOffloadGpu, RepeatedSavesOfOneStorageAreCopiedOnceAndCallerBuffersArePoisonedFirst) {
  auto rng = test::fresh_rng();
  ActivationOffloader offloader(*runtime_, *engine_, {.host_arena_bytes = 64 * MiB});
  std::vector<Buffer> keep;
  const std::size_t n = 3 * MiB + 17;
  const auto data = random_bytes(rng, n);
  void* device = produce(data, keep);
  const ActivationHandle first = offloader.save(device, n, stream_);
  const ActivationHandle second = offloader.save(device, n, stream_);
  EXPECT_EQ(first, second);
  EXPECT_EQ(offloader.statistics().offloaded_bytes, n);
  EXPECT_EQ(offloader.statistics().deduplicated_saves, 1u);
  wait_released(offloader, first);
  CUDA_OK(cudaMemset(device, 0, n));
  // Into the caller's buffer, with poisoned guards on both sides.
  constexpr std::size_t guard = 256;
  Buffer destination = runtime_->allocate_in(MemoryMode::device, guard + n + guard);
  CUDA_OK(cudaMemset(destination.data(), 0xEE, guard + n + guard));
  CUDA_OK(cudaDeviceSynchronize());  // the prefetch's stream does not wait for the legacy stream
  auto* dst = static_cast<unsigned char*>(destination.data()) + guard;
  offloader.prefetch(first, dst);
  EXPECT_EQ(offloader.restore(first, stream_), dst);
  const auto all = read_back(destination.data(), guard + n + guard);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), all.begin() + guard));
  for (std::size_t i = 0; i < guard; ++i) {
    ASSERT_EQ(all[i], 0xEE) << "wrote before the destination";
    ASSERT_EQ(all[guard + n + i], 0xEE) << "wrote past the destination";
  }
  offloader.release(first);
  EXPECT_EQ(offloader.statistics().live_handles, 1u) << "one save of the two is still held";
  offloader.release(second);
  EXPECT_EQ(offloader.statistics().live_handles, 0u);
  EXPECT_GHTIER_ERROR(offloader.release(first), ErrorCode::not_found);
}

TEST_F(ActivationOffloadGpu, ArenaTooSmallIsRefusedNamingTheBudgetAndChangesNothing) {
  auto rng = test::fresh_rng();
  ActivationOffloader offloader(*runtime_, *engine_, {.host_arena_bytes = 4 * MiB});
  std::vector<Buffer> keep;
  const auto small = random_bytes(rng, 3 * MiB);
  const auto large = random_bytes(rng, 2 * MiB);
  void* a = produce(small, keep);
  void* b = produce(large, keep);
  const ActivationHandle h = offloader.save(a, small.size(), stream_);
  try {
    (void)offloader.save(b, large.size(), stream_);
    ADD_FAILURE() << "a save past the arena was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::out_of_budget);
    EXPECT_NE(std::string(e.what()).find(std::to_string(4 * MiB)), std::string::npos) << e.what();
  }
  // The refused tensor is untouched on the device, the accepted one still round-trips.
  EXPECT_EQ(read_back(b, large.size()), large);
  const ActivationOffloadStatistics stats = offloader.statistics();
  EXPECT_EQ(stats.live_handles, 1u);
  EXPECT_EQ(stats.offloaded_bytes, small.size());
  wait_released(offloader, h);
  EXPECT_EQ(read_back(offloader.restore(h, stream_), small.size()), small);
  offloader.release(h);
  // Once released, the room is there for the larger one.
  const ActivationHandle again = offloader.save(b, large.size(), stream_);
  EXPECT_EQ(read_back(offloader.restore(again, stream_), large.size()), large);
  offloader.release(again);
}

TEST_F(ActivationOffloadGpu, RefusesBadArguments) {
  EXPECT_GHTIER_ERROR(ActivationOffloader(*runtime_, *engine_, {.host_arena_bytes = 0}), ErrorCode::invalid_argument);
  ActivationOffloader offloader(*runtime_, *engine_, {.host_arena_bytes = MiB, .min_offload_bytes = 4096});
  EXPECT_TRUE(offloader.worth_offloading(4096));
  EXPECT_FALSE(offloader.worth_offloading(4095));
  EXPECT_GHTIER_ERROR((void)offloader.save(nullptr, 16, stream_), ErrorCode::invalid_argument);
  Buffer device = runtime_->allocate_in(MemoryMode::device, 4096);
  EXPECT_GHTIER_ERROR((void)offloader.save(device.data(), 0, stream_), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)offloader.restore(12345, stream_), ErrorCode::not_found);
  EXPECT_GHTIER_ERROR(offloader.prefetch(12345), ErrorCode::not_found);
}

}  // namespace
}  // namespace ghtier
