// ghtier resources as CCCL cuda::mr resources: the concepts and accessibility properties per mode (checked
// at compile time), and allocations through cuda::mr::resource_ref / async_resource_ref over a fake
// upstream and over SystemResource. No GPU needed.
#include "ghtier/memory/cuda_memory_resource.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "fake_upstream.hpp"
#include "ghtier/memory/budget_adaptor.hpp"
#include "ghtier/memory/statistics_adaptor.hpp"
#include "ghtier/memory/tracking_adaptor.hpp"
#include "test_support.hpp"

using namespace ghtier;
using cuda::mr::device_accessible;
using cuda::mr::host_accessible;

namespace {

// Every resource and adaptor is a CCCL resource, synchronous and stream-ordered.
template <class Resource>
constexpr bool is_cccl_resource = cuda::mr::resource<Resource>&& cuda::mr::async_resource<Resource>;
static_assert(is_cccl_resource<MemoryResource>);
static_assert(is_cccl_resource<DevicePoolResource>);
static_assert(is_cccl_resource<PinnedHostResource>);
static_assert(is_cccl_resource<ManagedResource>);
static_assert(is_cccl_resource<SystemResource>);
static_assert(is_cccl_resource<BudgetAdaptor>);
static_assert(is_cccl_resource<StatisticsAdaptor>);
static_assert(is_cccl_resource<TrackingAdaptor>);
static_assert(is_cccl_resource<AccessCheckedResource<device_accessible>>);

// Accessibility per mode: device memory on the GPU only; pinned and managed on both; system on the host
// (the GPU's access to it is a run-time fact: AccessCheckedResource).
static_assert(cuda::mr::async_resource_with<DevicePoolResource, device_accessible>);
static_assert(!cuda::has_property<DevicePoolResource, host_accessible>);
static_assert(cuda::mr::async_resource_with<PinnedHostResource, device_accessible, host_accessible>);
static_assert(cuda::mr::async_resource_with<ManagedResource, device_accessible, host_accessible>);
static_assert(cuda::mr::async_resource_with<SystemResource, host_accessible>);
static_assert(!cuda::has_property<SystemResource, device_accessible>);
// A resource whose mode is known only at run time claims nothing.
static_assert(!cuda::has_property<MemoryResource, device_accessible>);
static_assert(!cuda::has_property<BudgetAdaptor, host_accessible>);
static_assert(cuda::mr::async_resource_with<AccessCheckedResource<device_accessible, host_accessible>,
                                            device_accessible, host_accessible>);
static_assert(!cuda::has_property<AccessCheckedResource<host_accessible>, device_accessible>);

// Takes only what CCCL hands out: the ghtier resource behind it is invisible here. (CCCL's refs need at
// least one accessibility property, so a resource whose mode is a run-time value goes through
// AccessCheckedResource.)
std::vector<void*> allocate_through(cuda::mr::async_resource_ref<device_accessible> ref,
                                    const std::vector<std::size_t>& sizes, cudaStream_t stream) {
  std::vector<void*> out;
  for (std::size_t bytes : sizes) out.push_back(ref.allocate_async(bytes, 64, cuda::stream_ref(stream)));
  return out;
}

TEST(CudaMemoryResource, ResourceRefAllocatesThroughTheGhtierResource) {
  auto rng = test::fresh_rng();
  std::uniform_int_distribution<std::size_t> size(1, 1 << 20);
  std::vector<std::size_t> sizes(16);
  for (std::size_t& s : sizes) s = size(rng);

  test::FakeUpstream upstream(MemoryMode::device);
  StatisticsAdaptor adaptor(upstream);
  AccessCheckedResource<device_accessible> statistics(adaptor, assume_platform("x86-h100-pcie"));
  // A made-up handle: the fake upstream never dereferences it, and no CUDA call sees it.
  const auto stream = reinterpret_cast<cudaStream_t>(std::uintptr_t{0x1000});
  const std::vector<void*> blocks = allocate_through(statistics, sizes, stream);
  EXPECT_EQ(upstream.allocations.load(), 16);
  std::size_t total = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    total += sizes[i];
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(blocks[i]) % 64, 0u);
  }
  EXPECT_EQ(upstream.live_bytes.load(), total);

  cuda::mr::async_resource_ref<device_accessible> ref(statistics);
  for (std::size_t i = 0; i < sizes.size(); ++i)
    ref.deallocate_async(blocks[i], sizes[i], 64, cuda::stream_ref(stream));
  EXPECT_EQ(upstream.live_bytes.load(), 0u);
  EXPECT_EQ(upstream.mismatched_frees.load(), 0);

  // The synchronous form, through a resource_ref.
  cuda::mr::resource_ref<device_accessible> sync_ref(statistics);
  void* p = sync_ref.allocate(sizes[0], 256);
  EXPECT_EQ(upstream.live_bytes.load(), sizes[0]);
  sync_ref.deallocate(p, sizes[0], 256);
  EXPECT_EQ(upstream.frees.load(), 17);
}

TEST(CudaMemoryResource, RefsCompareEqualOnlyForTheSameResource) {
  test::FakeUpstream a, b;
  const Platform platform = assume_platform("x86-h100-pcie");
  AccessCheckedResource<host_accessible> checked_a(a, platform), also_a(a, platform), checked_b(b, platform);
  cuda::mr::resource_ref<host_accessible> ref_a(checked_a), again_a(also_a), ref_b(checked_b);
  EXPECT_TRUE(ref_a == again_a);
  EXPECT_FALSE(ref_a == ref_b);
}

TEST(CudaMemoryResource, AccessCheckedResourceStatesWhatThePlatformAllows) {
  test::FakeUpstream device_memory(MemoryMode::device);
  BudgetAdaptor budget(device_memory, 1 << 20);
  AccessCheckedResource<device_accessible> checked(budget, assume_platform("x86-h100-pcie"));
  cuda::mr::async_resource_ref<device_accessible> ref(checked);
  void* p = ref.allocate_async(4096, 256, cuda::stream_ref(cudaStream_t{}));
  EXPECT_EQ(budget.used(), 4096u);
  ref.deallocate_async(p, 4096, 256, cuda::stream_ref(cudaStream_t{}));
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_GHTIER_ERROR((AccessCheckedResource<host_accessible>(budget, assume_platform("x86-h100-pcie"))),
                      ErrorCode::unsupported);

  // System memory: device-accessible on GH200 (ATS) and with HMM, not on plain PCIe.
  test::FakeUpstream system_memory(MemoryMode::system);
  EXPECT_NO_THROW((AccessCheckedResource<device_accessible, host_accessible>(system_memory, assume_platform("gh200"))));
  EXPECT_NO_THROW((AccessCheckedResource<device_accessible>(system_memory, assume_platform("x86-h100-hmm"))));
  try {
    AccessCheckedResource<device_accessible> refused(system_memory, assume_platform("x86-h100-pcie"));
    ADD_FAILURE() << "system memory claimed device-accessible on PCIe";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported);
    EXPECT_NE(std::string(e.what()).find("system memory is not device-accessible"), std::string::npos) << e.what();
  }
}

TEST(CudaMemoryResource, SystemResourceThroughAHostAccessibleRef) {
  SystemResource system;
  cuda::mr::resource_ref<host_accessible> ref(system);
  auto rng = test::fresh_rng();
  const std::size_t bytes = std::uniform_int_distribution<std::size_t>(1, 3 << 20)(rng);
  auto* p = static_cast<unsigned char*>(ref.allocate(bytes, 4096));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 4096, 0u);
  std::memset(p, 0xab, bytes);  // host-accessible: the CPU writes all of it
  EXPECT_EQ(p[bytes - 1], 0xab);
  ref.deallocate(p, bytes, 4096);
}

}  // namespace
