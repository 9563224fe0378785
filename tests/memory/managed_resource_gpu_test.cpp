// ManagedResource on the GPU machine: the advice given at allocation is what cudaMemRangeGetAttribute
// reports, over-aligned blocks are advised whole, and stream-ordered frees wait for the stream.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/support/cuda_check.hpp"
#include "ghtier/memory/managed_resource.hpp"
#include "memory_test_kernels.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;

bool concurrent_managed_access(int device) {
  int value = 0;
  GHTIER_CUDA_CHECK(cudaDeviceGetAttribute(&value, cudaDevAttrConcurrentManagedAccess, device));
  return value != 0;
}

int range_attribute(void* p, std::size_t bytes, cudaMemRangeAttribute attribute) {
  int value = -7;
  GHTIER_CUDA_CHECK(cudaMemRangeGetAttribute(&value, sizeof(value), attribute, p, bytes));
  return value;
}

TEST(ManagedResource, PlainAllocationsCarryNoAdvice) {
  GHTIER_REQUIRE_GPU();
  ManagedResource resource;
  if (!concurrent_managed_access(resource.device())) GTEST_SKIP() << "no concurrent managed access: no advice";
  void* p = resource.allocate(4 * MiB);
  cudaPointerAttributes attributes{};
  GHTIER_CUDA_CHECK(cudaPointerGetAttributes(&attributes, p));
  EXPECT_EQ(attributes.type, cudaMemoryTypeManaged);
  EXPECT_EQ(range_attribute(p, 4 * MiB, cudaMemRangeAttributeReadMostly), 0);
  EXPECT_EQ(range_attribute(p, 4 * MiB, cudaMemRangeAttributePreferredLocationType), cudaMemLocationTypeInvalid);
  resource.deallocate(p, 4 * MiB);
}

TEST(ManagedResource, AdviceIsVisibleInTheRangeAttributes) {
  GHTIER_REQUIRE_GPU();
  ManagedResource probe;
  const int device = probe.device();
  if (!concurrent_managed_access(device)) GTEST_SKIP() << "no concurrent managed access: no advice";

  ManagedResource on_device(ManagedOptions{.advice = {.read_mostly = true,
                                                      .preferred_location = ManagedPreferredLocation::device,
                                                      .accessed_by_device = true}});
  void* p = on_device.allocate(4 * MiB, 64 * 1024);
  EXPECT_EQ(range_attribute(p, 4 * MiB, cudaMemRangeAttributeReadMostly), 1);
  EXPECT_EQ(range_attribute(p, 4 * MiB, cudaMemRangeAttributePreferredLocationType), cudaMemLocationTypeDevice);
  EXPECT_EQ(range_attribute(p, 4 * MiB, cudaMemRangeAttributePreferredLocationId), device);
  int accessed_by[4] = {-7, -7, -7, -7};
  GHTIER_CUDA_CHECK(
      cudaMemRangeGetAttribute(accessed_by, sizeof(accessed_by), cudaMemRangeAttributeAccessedBy, p, 4 * MiB));
  EXPECT_EQ(accessed_by[0], device);
  on_device.deallocate(p, 4 * MiB, 64 * 1024);

  ManagedResource on_host(ManagedOptions{.advice = {.preferred_location = ManagedPreferredLocation::host}});
  void* q = on_host.allocate(4 * MiB);
  EXPECT_EQ(range_attribute(q, 4 * MiB, cudaMemRangeAttributeReadMostly), 0);
  const int type = range_attribute(q, 4 * MiB, cudaMemRangeAttributePreferredLocationType);
  EXPECT_TRUE(type == cudaMemLocationTypeHost || type == cudaMemLocationTypeHostNuma) << type;
  on_host.deallocate(q, 4 * MiB);
}

TEST(ManagedResource, RefusesBadOptions) {
  GHTIER_REQUIRE_GPU();
  EXPECT_GHTIER_ERROR(ManagedResource(ManagedOptions{.device = 4096}), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(
      ManagedResource(ManagedOptions{.advice = {.preferred_location = static_cast<ManagedPreferredLocation>(5)}}),
      ErrorCode::invalid_argument);
}

TEST(ManagedResource, StreamOrderedFreeWaitsForTheStream) {
  GHTIER_REQUIRE_GPU();
  ManagedResource resource;
  cudaStream_t stream = nullptr;
  GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  // A kernel still writing the block when it is freed must finish first (else: a fault under memcheck).
  for (int round = 0; round < 4; ++round) {
    auto* p = static_cast<unsigned char*>(resource.allocate_async(2 * MiB, default_alignment, stream));
    GHTIER_CUDA_CHECK(test::launch_spin_then_fill(p, 2 * MiB, 0x33, 50.0, stream));
    resource.deallocate_async(p, 2 * MiB, default_alignment, stream);
    cudaError_t status = cudaStreamQuery(stream);
    EXPECT_EQ(status, cudaSuccess) << "deallocate_async returned while the stream still ran: "
                                   << cudaGetErrorString(status);
  }
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
  GHTIER_CUDA_CHECK(cudaStreamDestroy(stream));
}

}  // namespace
}  // namespace ghtier
