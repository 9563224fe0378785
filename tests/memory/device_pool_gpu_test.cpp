// DevicePoolResource on the GPU machine: its own pool (not the device default), initial reservation,
// release threshold and trimming, the pool bound, bad devices, and stream-ordered reuse across streams.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "core/support/cuda_check.hpp"
#include "ghtier/memory/device_pool_resource.hpp"
#include "memory_test_kernels.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;

TEST(DevicePoolResource, OwnsAPoolOfItsOwn) {
  GHTIER_REQUIRE_GPU();
  DevicePoolResource resource;
  cudaMemPool_t default_pool = nullptr;
  GHTIER_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&default_pool, resource.device()));
  EXPECT_NE(resource.pool(), default_pool);
  void* p = resource.allocate(10 * MiB);
  EXPECT_GE(resource.used_bytes(), 10 * MiB);
  cudaPointerAttributes attributes{};
  GHTIER_CUDA_CHECK(cudaPointerGetAttributes(&attributes, p));
  EXPECT_EQ(attributes.type, cudaMemoryTypeDevice);
  EXPECT_EQ(attributes.device, resource.device());
  resource.deallocate(p, 10 * MiB);
}

TEST(DevicePoolResource, ReservesInitialBytesAndTrims) {
  GHTIER_REQUIRE_GPU();
  DevicePoolResource resource(DevicePoolOptions{.initial_bytes = 64 * MiB});
  EXPECT_GE(resource.reserved_bytes(), 64 * MiB);
  EXPECT_EQ(resource.used_bytes(), 0u);
  EXPECT_EQ(resource.release_threshold(), std::numeric_limits<std::size_t>::max());
  resource.set_release_threshold(32 * MiB);
  EXPECT_EQ(resource.release_threshold(), 32 * MiB);
  void* p = resource.allocate(16 * MiB);
  resource.deallocate(p, 16 * MiB);
  resource.trim_to(0);
  EXPECT_EQ(resource.reserved_bytes(), 0u);
}

TEST(DevicePoolResource, HonoursItsBound) {
  GHTIER_REQUIRE_GPU();
  DevicePoolResource resource(DevicePoolOptions{.max_bytes = 64 * MiB});
  void* p = resource.allocate(32 * MiB);
  EXPECT_GHTIER_ERROR((void)resource.allocate(128 * MiB), ErrorCode::out_of_memory);
  resource.deallocate(p, 32 * MiB);
}

TEST(DevicePoolResource, RefusesADeviceThatDoesNotExist) {
  GHTIER_REQUIRE_GPU();
  EXPECT_GHTIER_ERROR(DevicePoolResource(DevicePoolOptions{.device = 4096}), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(DevicePoolResource(DevicePoolOptions{.device = -5}), ErrorCode::invalid_argument);
}

TEST(DevicePoolResource, OutOfMemorySaysHowMuch) {
  GHTIER_REQUIRE_GPU();
  DevicePoolResource resource;
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  GHTIER_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  const std::size_t too_much = 2 * total_bytes;
  try {
    (void)resource.allocate(too_much);
    ADD_FAILURE() << "allocating twice the device's memory succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::out_of_memory) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::to_string(too_much)), std::string::npos) << e.what();
  }
  void* p = resource.allocate(MiB);  // the resource still works
  resource.deallocate(p, MiB);
}

TEST(DevicePoolResource, StreamOrderedFreeIsReusedOnlyAfterTheWorkBeforeIt) {
  GHTIER_REQUIRE_GPU();
  DevicePoolResource resource;
  cudaStream_t first = nullptr;
  cudaStream_t second = nullptr;
  GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&first, cudaStreamNonBlocking));
  GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&second, cudaStreamNonBlocking));
  constexpr std::size_t bytes = 4 * MiB;
  auto* a = static_cast<unsigned char*>(resource.allocate_async(bytes, default_alignment, first));
  GHTIER_CUDA_CHECK(test::launch_spin_then_fill(a, bytes, 0x11, 200.0, first));
  resource.deallocate_async(a, bytes, default_alignment, first);
  auto* b = static_cast<unsigned char*>(resource.allocate_async(bytes, default_alignment, second));
  GHTIER_CUDA_CHECK(cudaMemsetAsync(b, 0x22, bytes, second));
  std::vector<unsigned char> back(bytes, 0);
  GHTIER_CUDA_CHECK(cudaMemcpyAsync(back.data(), b, bytes, cudaMemcpyDeviceToHost, second));
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(second));
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(first));
  // If b reused a's memory before the kernel ended, the kernel's 0x11 overwrote the 0x22 before the copy, or
  // after it (then a second read shows it).
  std::vector<unsigned char> again(bytes, 0);
  GHTIER_CUDA_CHECK(cudaMemcpy(again.data(), b, bytes, cudaMemcpyDeviceToHost));
  const std::vector<unsigned char> expected(bytes, 0x22);
  EXPECT_EQ(back, expected);
  EXPECT_EQ(again, expected);
  resource.deallocate_async(b, bytes, default_alignment, second);
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(second));
  GHTIER_CUDA_CHECK(cudaStreamDestroy(first));
  GHTIER_CUDA_CHECK(cudaStreamDestroy(second));
}

}  // namespace
}  // namespace ghtier
