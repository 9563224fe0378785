// PinnedHostResource and PinnedHostPoolResource on the GPU machine: reservation and growth, the no-growth
// limit, page-locking, NUMA placement, giving memory back, stream-ordered frees that must not hand a block
// out while a kernel still writes it, and the runtime choosing between the two.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/memory/host_mapping.hpp"
#include "core/support/cuda_check.hpp"
#include "ghtier/memory/pinned_host_pool_resource.hpp"
#include "ghtier/memory/pinned_host_resource.hpp"
#include "ghtier/runtime/runtime.hpp"
#include "memory_test_kernels.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;

TEST(PinnedHostResource, ReserveMapsOneRegionThatLaterAllocationsUse) {
  GHTIER_REQUIRE_GPU();
  PinnedHostResource resource(PinnedHostOptions{.growth_bytes = 8 * MiB});
  EXPECT_EQ(resource.reserved_bytes(), 0u);
  resource.reserve(64 * MiB);
  EXPECT_EQ(resource.region_count(), 1u);
  EXPECT_EQ(resource.reserved_bytes(), 64 * MiB);
  std::vector<void*> blocks;
  for (int i = 0; i < 60; ++i) blocks.push_back(resource.allocate(MiB));
  EXPECT_EQ(resource.region_count(), 1u) << "allocations that fit the reservation grew the pool";
  EXPECT_EQ(resource.used_bytes(), 60 * MiB);
  for (void* p : blocks) resource.deallocate(p, MiB);
  EXPECT_EQ(resource.used_bytes(), 0u);
}

TEST(PinnedHostResource, GrowsByRegionsWhenFull) {
  GHTIER_REQUIRE_GPU();
  PinnedHostResource resource(PinnedHostOptions{.initial_bytes = 4 * MiB, .growth_bytes = 4 * MiB});
  EXPECT_EQ(resource.region_count(), 1u);
  std::vector<void*> blocks;
  for (int i = 0; i < 6; ++i) blocks.push_back(resource.allocate(3 * MiB));
  EXPECT_EQ(resource.region_count(), 6u) << "each 3 MiB block needs a 4 MiB region of its own";
  void* big = resource.allocate(20 * MiB);  // larger than the growth step: a region of its own size
  EXPECT_EQ(resource.region_count(), 7u);
  EXPECT_GE(resource.reserved_bytes(), 44 * MiB);
  resource.deallocate(big, 20 * MiB);
  for (void* p : blocks) resource.deallocate(p, 3 * MiB);
  const std::size_t reserved = resource.reserved_bytes();
  EXPECT_EQ(resource.release_unused(), reserved);
  EXPECT_EQ(resource.reserved_bytes(), 0u);
  EXPECT_EQ(resource.region_count(), 0u);
  void* again = resource.allocate(MiB);  // grows afresh after giving everything back
  EXPECT_EQ(resource.region_count(), 1u);
  resource.deallocate(again, MiB);
}

TEST(PinnedHostResource, WithoutGrowthFailsWithOutOfMemoryThatSaysWhy) {
  GHTIER_REQUIRE_GPU();
  PinnedHostResource resource(PinnedHostOptions{.initial_bytes = 4 * MiB, .growth_bytes = 0});
  void* a = resource.allocate(3 * MiB);
  try {
    (void)resource.allocate(2 * MiB);
    ADD_FAILURE() << "an allocation past a fixed pool succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::out_of_memory);
    EXPECT_NE(std::string(e.what()).find("growth is disabled"), std::string::npos) << e.what();
  }
  EXPECT_EQ(resource.region_count(), 1u);
  void* b = resource.allocate(MiB);  // what is left still serves
  resource.deallocate(a, 3 * MiB);
  resource.deallocate(b, MiB);
}

TEST(PinnedHostResource, RefusesBadOptions) {
  GHTIER_REQUIRE_GPU();
  EXPECT_GHTIER_ERROR(PinnedHostResource(PinnedHostOptions{.growth_bytes = 0}), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(PinnedHostResource(PinnedHostOptions{.touch_threads = -1}), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(PinnedHostResource(PinnedHostOptions{.numa_node = -7}), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(PinnedHostResource(PinnedHostOptions{.device = 4096}), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(PinnedHostResource(PinnedHostOptions{.backing = static_cast<PinnedBacking>(9)}),
                      ErrorCode::invalid_argument);
  try {
    PinnedHostResource wrong(PinnedHostOptions{.backing = PinnedBacking::cuda_pool});
    ADD_FAILURE() << "a PinnedHostResource with the cuda_pool backing was made";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("PinnedHostPoolResource"), std::string::npos) << e.what();
  }
  PinnedHostResource resource;
  EXPECT_GHTIER_ERROR(resource.reserve(0), ErrorCode::invalid_argument);
}

TEST(PinnedHostResource, RegisteredMemoryIsPageLockedAndMappedAtTheSameAddress) {
  GHTIER_REQUIRE_GPU();
  PinnedHostResource resource;
  void* p = resource.allocate(3 * MiB + 5, 4096);
  cudaPointerAttributes attributes{};
  GHTIER_CUDA_CHECK(cudaPointerGetAttributes(&attributes, p));
  EXPECT_EQ(attributes.type, cudaMemoryTypeHost);
  EXPECT_EQ(attributes.devicePointer, p) << "the device does not reach it through the same pointer";
  resource.deallocate(p, 3 * MiB + 5, 4096);
}

TEST(PinnedHostResource, LandsOnTheGpusHostNumaNode) {
  GHTIER_REQUIRE_GPU();
  PinnedHostResource resource;
  int expected = -1;
  if (cudaDeviceGetAttribute(&expected, cudaDevAttrHostNumaId, resource.device()) != cudaSuccess) {
    (void)cudaGetLastError();
    expected = -1;
  }
  void* p = resource.allocate(4 * MiB);  // the first region is mapped (and bound, if allowed) here
  const int node = resource.numa_node();
  if (node < 0) {
    resource.deallocate(p, 4 * MiB);
    GTEST_SKIP() << "not bound: the driver names no host NUMA node (" << expected
                 << ") or NUMA policy is not permitted here";
  }
  EXPECT_EQ(node, expected);
  // Where the first page actually lives (get_mempolicy MPOL_F_NODE | MPOL_F_ADDR).
  int actual = -1;
  if (syscall(SYS_get_mempolicy, &actual, nullptr, 0, p, (1UL << 0) | (1UL << 1)) != 0) {
    resource.deallocate(p, 4 * MiB);
    GTEST_SKIP() << "get_mempolicy is not permitted here: " << std::strerror(errno);
  }
  EXPECT_EQ(actual, node);
  resource.deallocate(p, 4 * MiB);
}

/// One block fills a fixed pool; a kernel keeps writing it after it was freed stream-ordered; the next
/// allocation must wait for the kernel, so what the CPU writes into it afterwards survives.
template <typename Resource>
void check_stream_ordered_free(Resource& resource, std::size_t bytes) {
  cudaStream_t stream = nullptr;
  GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  auto* a = static_cast<unsigned char*>(resource.allocate(bytes));
  GHTIER_CUDA_CHECK(test::launch_spin_then_fill(a, bytes, 0x11, 200.0, stream));
  resource.deallocate_async(a, bytes, default_alignment, stream);
  auto* b = static_cast<unsigned char*>(resource.allocate(bytes));
  std::memset(b, 0x22, bytes);
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
  const std::vector<unsigned char> expected(bytes, 0x22);
  EXPECT_EQ(std::memcmp(b, expected.data(), bytes), 0)
      << "the block was handed out again while the kernel queued before its free still wrote it";
  resource.deallocate(b, bytes);
  GHTIER_CUDA_CHECK(cudaStreamDestroy(stream));
}

TEST(PinnedHostResource, StreamOrderedFreeWaitsForQueuedWork) {
  GHTIER_REQUIRE_GPU();
  // 2 MiB huge-page region, one 2 MiB block: the second allocation can only be the first block again.
  PinnedHostResource resource(PinnedHostOptions{.initial_bytes = 2 * MiB, .growth_bytes = 0});
  check_stream_ordered_free(resource, 2 * MiB);
}

TEST(PinnedHostPoolResource, StreamOrderedFreeWaitsForQueuedWork) {
  GHTIER_REQUIRE_GPU();
  PinnedHostPoolResource resource;
  check_stream_ordered_free(resource, 2 * MiB);
}

TEST(PinnedHostPoolResource, RefusesBadOptions) {
  GHTIER_REQUIRE_GPU();
  EXPECT_GHTIER_ERROR(PinnedHostPoolResource(PinnedHostPoolOptions{.touch_threads = -1}), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(PinnedHostPoolResource(PinnedHostPoolOptions{.numa_node = -7}), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(PinnedHostPoolResource(PinnedHostPoolOptions{.device = 4096}), ErrorCode::invalid_argument);
  PinnedHostPoolResource resource;
  EXPECT_GHTIER_ERROR(resource.reserve(0), ErrorCode::invalid_argument);
}

TEST(PinnedHostPoolResource, ReservesCountsUseAndTrims) {
  GHTIER_REQUIRE_GPU();
  PinnedHostPoolResource resource(PinnedHostPoolOptions{.initial_bytes = 8 * MiB, .touch_threads = 2});
  EXPECT_GE(resource.reserved_bytes(), 8 * MiB) << "the initial reservation stays in the pool";
  EXPECT_EQ(resource.used_bytes(), 0u);
  void* p = resource.allocate(3 * MiB);
  EXPECT_GE(resource.used_bytes(), 3 * MiB);
  resource.deallocate(p, 3 * MiB);
  EXPECT_GT(resource.release_unused(), 0u);  // waits for the free on the internal stream, then trims
  EXPECT_EQ(resource.used_bytes(), 0u);
  EXPECT_EQ(resource.reserved_bytes(), 0u);
}

// The runtime serves pinned_host from the resource that RuntimeOptions::pinned_host.backing names; either
// one's memory is page-locked host memory that the GPU copies from and to.
TEST(PinnedHostPoolResource, TheRuntimeServesPinnedMemoryWithEitherBacking) {
  GHTIER_REQUIRE_GPU();
  for (const PinnedBacking backing : {PinnedBacking::registered_mmap, PinnedBacking::cuda_pool}) {
    RuntimeOptions options;
    options.pinned_host.backing = backing;
    options.pinned_host.growth_bytes = 8 * MiB;
    Runtime runtime(options);
    auto rng = test::fresh_rng();
    Buffer b = runtime.allocate_in(MemoryMode::pinned_host, MiB);
    std::vector<unsigned char> expected(MiB);
    for (auto& byte : expected) byte = static_cast<unsigned char>(rng());
    std::memcpy(b.data(), expected.data(), MiB);
    void* device = nullptr;
    GHTIER_CUDA_CHECK(cudaMalloc(&device, MiB));
    std::vector<unsigned char> back(MiB, 0);
    GHTIER_CUDA_CHECK(cudaMemcpy(device, b.data(), MiB, cudaMemcpyDefault));
    GHTIER_CUDA_CHECK(cudaMemcpy(back.data(), device, MiB, cudaMemcpyDefault));
    GHTIER_CUDA_CHECK(cudaFree(device));
    EXPECT_EQ(back, expected);
  }
}

TEST(PinnedHostResource, StreamOrderedFreesAreReclaimedOnceComplete) {
  GHTIER_REQUIRE_GPU();
  PinnedHostResource resource(PinnedHostOptions{.initial_bytes = 8 * MiB, .growth_bytes = 0});
  cudaStream_t stream = nullptr;
  GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  // Many rounds of allocate + stream-ordered free of the whole pool: only works if completed frees return.
  for (int round = 0; round < 200; ++round) {
    auto* p = static_cast<unsigned char*>(resource.allocate(8 * MiB));
    GHTIER_CUDA_CHECK(test::launch_add_one(p, 8 * MiB, stream));
    resource.deallocate_async(p, 8 * MiB, default_alignment, stream);
  }
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
  void* last = resource.allocate(8 * MiB);
  EXPECT_EQ(resource.used_bytes(), 8 * MiB);
  resource.deallocate(last, 8 * MiB);
  GHTIER_CUDA_CHECK(cudaStreamDestroy(stream));
}

TEST(PinnedHostResource, FreeingAForeignPointerIsLoggedAndIgnored) {
  GHTIER_REQUIRE_GPU();
  PinnedHostResource resource(PinnedHostOptions{.initial_bytes = 4 * MiB, .growth_bytes = 0});
  void* p = resource.allocate(MiB);
  int local = 0;
  resource.deallocate(&local, 4);
  resource.deallocate_async(&local, 4, default_alignment, nullptr);
  resource.deallocate(static_cast<unsigned char*>(p) + 256, MiB);
  EXPECT_EQ(resource.used_bytes(), MiB);
  resource.deallocate(p, MiB);
  resource.deallocate(p, MiB);  // double free: logged, ignored
  EXPECT_EQ(resource.used_bytes(), 0u);
  void* whole = resource.allocate(4 * MiB);  // nothing leaked, nothing freed twice
  resource.deallocate(whole, 4 * MiB);
}

TEST(PinnedHostResource, SixteenThreadsGrowingTogetherNeverShareABlock) {
  GHTIER_REQUIRE_GPU();
  PinnedHostResource resource(PinnedHostOptions{.growth_bytes = 16 * MiB, .touch_threads = 2});
  auto seed_rng = test::fresh_rng();
  std::vector<std::uint64_t> seeds;
  for (int t = 0; t < 16; ++t) seeds.push_back(seed_rng());
  std::atomic<int> corrupted{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 16; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(seeds[static_cast<std::size_t>(t)]);
      std::vector<std::pair<unsigned char*, std::size_t>> mine;
      const auto mark = static_cast<unsigned char>(t + 1);
      for (int step = 0; step < 300; ++step) {
        if (mine.empty() || rng() % 100 < 60) {
          const std::size_t bytes = 1 + rng() % MiB;
          auto* p = static_cast<unsigned char*>(resource.allocate(bytes, std::size_t{1} << (rng() % 16)));
          std::memset(p, mark, bytes);
          mine.emplace_back(p, bytes);
        } else {
          const std::size_t index = rng() % mine.size();
          auto [p, bytes] = mine[index];
          mine[index] = mine.back();
          mine.pop_back();
          if (std::count(p, p + bytes, mark) != static_cast<std::ptrdiff_t>(bytes)) ++corrupted;
          resource.deallocate(p, bytes);
        }
      }
      for (auto [p, bytes] : mine) {
        if (std::count(p, p + bytes, mark) != static_cast<std::ptrdiff_t>(bytes)) ++corrupted;
        resource.deallocate(p, bytes);
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(corrupted.load(), 0);
  EXPECT_EQ(resource.used_bytes(), 0u);
  EXPECT_GT(resource.region_count(), 1u);
}

}  // namespace
}  // namespace ghtier
