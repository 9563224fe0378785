// The shared typed suite (resource_typed_cases.hpp) on every GPU resource and on the adaptors stacked over
// them, plus a stream-ordered round trip (allocate_async, copies, deallocate_async) per resource.
#include <cuda_runtime_api.h>

#include "core/support/cuda_check.hpp"
#include "ghtier/memory/budget_adaptor.hpp"
#include "ghtier/memory/device_pool_resource.hpp"
#include "ghtier/memory/managed_resource.hpp"
#include "ghtier/memory/pinned_host_pool_resource.hpp"
#include "ghtier/memory/pinned_host_resource.hpp"
#include "ghtier/memory/statistics_adaptor.hpp"
#include "ghtier/memory/tracking_adaptor.hpp"
#include "resource_typed_cases.hpp"

namespace ghtier::test {
namespace {

struct CudaCopy {
  static constexpr bool needs_gpu = true;
  static void copy(void* dst, const void* src, std::size_t n) {
    GHTIER_CUDA_CHECK(cudaMemcpy(dst, src, n, cudaMemcpyDefault));
  }
};

struct DevicePool : CudaCopy {
  static constexpr MemoryMode mode = MemoryMode::device;
  DevicePoolResource r{};
  MemoryResource& resource() { return r; }
};

struct PinnedRegistered : CudaCopy {
  static constexpr MemoryMode mode = MemoryMode::pinned_host;
  PinnedHostResource r{PinnedHostOptions{.growth_bytes = std::size_t{64} << 20}};
  MemoryResource& resource() { return r; }
};

struct PinnedSmallPagesNoNuma : CudaCopy {
  static constexpr MemoryMode mode = MemoryMode::pinned_host;
  PinnedHostResource r{PinnedHostOptions{.numa_node = numa_node_none,
                                         .initial_bytes = std::size_t{32} << 20,
                                         .growth_bytes = std::size_t{16} << 20,
                                         .huge_pages = false,
                                         .touch_threads = 3}};
  MemoryResource& resource() { return r; }
};

struct PinnedCudaPool : CudaCopy {
  static constexpr MemoryMode mode = MemoryMode::pinned_host;
  PinnedHostPoolResource r{};
  MemoryResource& resource() { return r; }
};

struct Managed : CudaCopy {
  static constexpr MemoryMode mode = MemoryMode::managed;
  ManagedResource r{};
  MemoryResource& resource() { return r; }
};

struct ManagedAdvised : CudaCopy {
  static constexpr MemoryMode mode = MemoryMode::managed;
  ManagedResource r{ManagedOptions{.advice = {.read_mostly = true,
                                              .preferred_location = ManagedPreferredLocation::host,
                                              .accessed_by_device = true}}};
  MemoryResource& resource() { return r; }
};

struct BudgetOverDevicePool : CudaCopy {
  static constexpr MemoryMode mode = MemoryMode::device;
  DevicePoolResource upstream{};
  BudgetAdaptor r{upstream, std::size_t{8} << 30};
  MemoryResource& resource() { return r; }
};

struct StatisticsOverPinned : CudaCopy {
  static constexpr MemoryMode mode = MemoryMode::pinned_host;
  PinnedHostResource upstream{};
  StatisticsAdaptor r{upstream};
  MemoryResource& resource() { return r; }
};

struct StatisticsOverPinnedPool : CudaCopy {
  static constexpr MemoryMode mode = MemoryMode::pinned_host;
  PinnedHostPoolResource upstream{PinnedHostPoolOptions{.numa_node = numa_node_none}};
  StatisticsAdaptor r{upstream};
  MemoryResource& resource() { return r; }
};

struct TrackingOverManaged : CudaCopy {
  static constexpr MemoryMode mode = MemoryMode::managed;
  ManagedResource upstream{};
  TrackingAdaptor r{upstream};
  MemoryResource& resource() { return r; }
};

using GpuEnvironments =
    ::testing::Types<DevicePool, PinnedRegistered, PinnedSmallPagesNoNuma, PinnedCudaPool, Managed, ManagedAdvised,
                     BudgetOverDevicePool, StatisticsOverPinned, StatisticsOverPinnedPool, TrackingOverManaged>;
INSTANTIATE_TYPED_TEST_SUITE_P(Gpu, ResourceTypedTest, GpuEnvironments);

// ---- stream-ordered use, GPU resources only --------------------------------------------------------------

template <typename Environment>
class StreamOrderedTest : public ResourceTypedTest<Environment> {};
TYPED_TEST_SUITE(StreamOrderedTest, GpuEnvironments);

TYPED_TEST(StreamOrderedTest, AsyncAllocateCopyAndFreeOnOneStream) {
  auto rng = fresh_rng();
  MemoryResource& r = this->resource();
  cudaStream_t stream = nullptr;
  GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  for (int round = 0; round < 24; ++round) {
    const std::size_t bytes = 1 + rng() % (std::size_t{2} << 20);
    const std::size_t alignment = std::size_t{1} << (rng() % 14);
    std::vector<unsigned char> data(bytes);
    for (auto& byte : data) byte = static_cast<unsigned char>(rng());
    std::vector<unsigned char> back(bytes);
    for (std::size_t i = 0; i < bytes; ++i) back[i] = static_cast<unsigned char>(~data[i]);  // poison
    void* p = r.allocate_async(bytes, alignment, stream);
    EXPECT_TRUE(detail::is_aligned(p, alignment));
    GHTIER_CUDA_CHECK(cudaMemcpyAsync(p, data.data(), bytes, cudaMemcpyDefault, stream));
    GHTIER_CUDA_CHECK(cudaMemcpyAsync(back.data(), p, bytes, cudaMemcpyDefault, stream));
    r.deallocate_async(p, bytes, alignment, stream);
    GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
    EXPECT_EQ(back, data) << "round " << round << ", " << bytes << " bytes";
  }
  GHTIER_CUDA_CHECK(cudaStreamDestroy(stream));
}

}  // namespace
}  // namespace ghtier::test
