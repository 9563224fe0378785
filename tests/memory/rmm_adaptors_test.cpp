// The RMM adaptors both ways, on the CPU: a fake RMM resource over aligned_alloc under RmmBackedResource,
// and a fake ghtier upstream under RmmDeviceResourceAdaptor. Built only where RMM is found.
#include <gtest/gtest.h>

#include <rmm/error.hpp>
#include <rmm/mr/device_memory_resource.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <vector>

#include "fake_upstream.hpp"
#include "ghtier/memory/budget_adaptor.hpp"
#include "ghtier/memory/rmm_backed_resource.hpp"
#include "ghtier/memory/rmm_device_resource_adaptor.hpp"
#include "test_support.hpp"

using namespace ghtier;

namespace {

/// An RMM resource over host memory that records what it was asked; it can be told to fail.
class FakeRmmResource final : public rmm::mr::device_memory_resource {
 public:
  std::atomic<std::size_t> live_bytes{0};
  std::atomic<int> allocations{0};
  cudaStream_t last_stream = nullptr;
  bool fail = false;

 private:
  void* do_allocate(std::size_t bytes, rmm::cuda_stream_view stream) override {
    if (fail) throw rmm::out_of_memory("FakeRmmResource: told to fail");
    last_stream = stream.value();
    void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
    live_bytes += bytes;
    ++allocations;
    return p;
  }
  void do_deallocate(void* p, std::size_t bytes, rmm::cuda_stream_view stream) noexcept override {
    last_stream = stream.value();
    live_bytes -= bytes;
    std::free(p);
  }
};

cudaStream_t fake_stream(std::uintptr_t n) { return reinterpret_cast<cudaStream_t>(n); }  // never dereferenced

TEST(RmmBackedResource, ForwardsAllocationsWithTheirStreams) {
  auto rng = test::fresh_rng();
  std::uniform_int_distribution<std::size_t> size(1, 1 << 20);
  FakeRmmResource rmm_resource;
  RmmBackedResource resource(rmm_resource, MemoryMode::device);
  EXPECT_EQ(resource.mode(), MemoryMode::device);
  std::vector<std::pair<void*, std::size_t>> blocks;
  std::size_t total = 0;
  for (int i = 0; i < 20; ++i) {
    const std::size_t bytes = size(rng);
    void* p = resource.allocate_async(bytes, 128, fake_stream(0x100 + i));
    EXPECT_EQ(rmm_resource.last_stream, fake_stream(0x100 + i));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 256, 0u);
    blocks.emplace_back(p, bytes);
    total += bytes;
  }
  EXPECT_EQ(rmm_resource.live_bytes.load(), total);
  for (auto [p, bytes] : blocks) resource.deallocate_async(p, bytes, 128, fake_stream(0x42));
  EXPECT_EQ(rmm_resource.last_stream, fake_stream(0x42));
  EXPECT_EQ(rmm_resource.live_bytes.load(), 0u);

  void* p = resource.allocate(4096);
  EXPECT_EQ(rmm_resource.last_stream, nullptr) << "the synchronous form is RMM's, on the default stream";
  resource.deallocate(p, 4096);
}

TEST(RmmBackedResource, RefusesWhatRmmCannotDoAndTranslatesItsErrors) {
  FakeRmmResource rmm_resource;
  RmmBackedResource resource(rmm_resource);
  EXPECT_GHTIER_ERROR((void)resource.allocate(0), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)resource.allocate(64, 512), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)resource.allocate(64, 96), ErrorCode::invalid_argument);
  EXPECT_EQ(rmm_resource.allocations.load(), 0);
  rmm_resource.fail = true;
  EXPECT_GHTIER_ERROR((void)resource.allocate(64), ErrorCode::out_of_memory);

  // ghtier's adaptors stack on it.
  rmm_resource.fail = false;
  BudgetAdaptor budget(resource, 1000);
  void* p = budget.allocate(600);
  EXPECT_GHTIER_ERROR((void)budget.allocate(600), ErrorCode::out_of_budget);
  budget.deallocate(p, 600);
  EXPECT_EQ(rmm_resource.live_bytes.load(), 0u);
}

TEST(RmmDeviceResourceAdaptor, RmmCallersAllocateThroughGhtier) {
  auto rng = test::fresh_rng();
  test::FakeUpstream upstream(MemoryMode::device);
  RmmDeviceResourceAdaptor adaptor(upstream);
  rmm::mr::device_memory_resource& rmm_view = adaptor;
  const std::size_t bytes = std::uniform_int_distribution<std::size_t>(1, 1 << 22)(rng);
  void* p = rmm_view.allocate(rmm::cuda_stream_view{fake_stream(0x7)}, bytes);
  EXPECT_EQ(upstream.live_bytes.load(), bytes);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 256, 0u);
  rmm_view.deallocate(rmm::cuda_stream_view{fake_stream(0x7)}, p, bytes);
  EXPECT_EQ(upstream.live_bytes.load(), 0u);
  EXPECT_EQ(upstream.mismatched_frees.load(), 0);

  RmmDeviceResourceAdaptor same(upstream);
  test::FakeUpstream other_upstream(MemoryMode::device);
  RmmDeviceResourceAdaptor other(other_upstream);
  EXPECT_TRUE(adaptor.is_equal(same));
  EXPECT_FALSE(adaptor.is_equal(other));
}

TEST(RmmDeviceResourceAdaptor, GhtierErrorsBecomeRmmErrors) {
  test::FakeUpstream upstream(MemoryMode::device);
  BudgetAdaptor budget(upstream, 1024);
  RmmDeviceResourceAdaptor adaptor(budget);
  EXPECT_THROW((void)adaptor.allocate_sync(4096), rmm::out_of_memory);
  upstream.fail_next = 1;
  EXPECT_THROW((void)adaptor.allocate_sync(64), rmm::out_of_memory);
  EXPECT_EQ(upstream.live_bytes.load(), 0u);

  // Both ways at once: RMM -> ghtier -> RMM.
  FakeRmmResource rmm_resource;
  RmmBackedResource from_rmm(rmm_resource);
  RmmDeviceResourceAdaptor back_to_rmm(from_rmm);
  void* p = back_to_rmm.allocate_sync(1000);
  EXPECT_EQ(rmm_resource.live_bytes.load(), 1000u);
  back_to_rmm.deallocate_sync(p, 1000);
  EXPECT_EQ(rmm_resource.live_bytes.load(), 0u);
}

}  // namespace
