// ghtier resources used through CCCL refs on the GPU: memory handed out by a cuda::mr ref is what its
// properties promise (a kernel reaches device-accessible memory, the CPU host-accessible memory), and the
// stream given as a cuda::stream_ref orders the allocation.
#include "ghtier/memory/cuda_memory_resource.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/support/cuda_check.hpp"
#include "memory_test_kernels.hpp"
#include "test_support.hpp"

using namespace ghtier;
using cuda::mr::device_accessible;
using cuda::mr::host_accessible;

namespace {

std::vector<unsigned char> random_bytes(std::size_t n) {
  auto rng = test::fresh_rng();
  std::vector<unsigned char> out(n);
  for (unsigned char& b : out) b = static_cast<unsigned char>(rng());
  return out;
}

// Through a device-accessible async ref: copy random bytes in, add one on the GPU, copy back.
void round_trip_on_device(cuda::mr::async_resource_ref<device_accessible> ref, std::size_t n) {
  cudaStream_t stream = nullptr;
  GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const std::vector<unsigned char> input = random_bytes(n);
  std::vector<unsigned char> output(n, 0);
  auto* p = static_cast<unsigned char*>(ref.allocate_async(n, 256, cuda::stream_ref(stream)));
  GHTIER_CUDA_CHECK(cudaMemsetAsync(p, 0xcd, n, stream));  // poison first
  GHTIER_CUDA_CHECK(cudaMemcpyAsync(p, input.data(), n, cudaMemcpyDefault, stream));
  GHTIER_CUDA_CHECK(test::launch_add_one(p, n, stream));
  GHTIER_CUDA_CHECK(cudaMemcpyAsync(output.data(), p, n, cudaMemcpyDefault, stream));
  ref.deallocate_async(p, n, 256, cuda::stream_ref(stream));
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
  GHTIER_CUDA_CHECK(cudaStreamDestroy(stream));
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(output[i], static_cast<unsigned char>(input[i] + 1)) << "byte " << i;
  }
}

TEST(CudaMemoryResourceGpu, DevicePoolThroughADeviceAccessibleRef) {
  GHTIER_REQUIRE_GPU();
  DevicePoolResource pool;
  round_trip_on_device(pool, (std::size_t{3} << 20) + 77);
}

TEST(CudaMemoryResourceGpu, PinnedAndManagedThroughRefsWithBothProperties) {
  GHTIER_REQUIRE_GPU();
  PinnedHostResource pinned;
  ManagedResource managed;
  for (MemoryResource* r : std::vector<MemoryResource*>{&pinned, &managed}) {
    SCOPED_TRACE(std::string(to_string(r->mode())));
    AccessCheckedResource<device_accessible, host_accessible> checked(*r, detect_platform(0));
    round_trip_on_device(checked, std::size_t{1} << 20);
  }
  // Host-accessible: the CPU writes and reads it directly, through a synchronous ref.
  cuda::mr::resource_ref<host_accessible, device_accessible> ref(pinned);
  const std::vector<unsigned char> input = random_bytes(4096);
  auto* p = static_cast<unsigned char*>(ref.allocate(input.size(), 256));
  std::memcpy(p, input.data(), input.size());
  GHTIER_CUDA_CHECK(test::launch_add_one(p, input.size(), nullptr));
  GHTIER_CUDA_CHECK(cudaDeviceSynchronize());
  for (std::size_t i = 0; i < input.size(); ++i) ASSERT_EQ(p[i], static_cast<unsigned char>(input[i] + 1));
  ref.deallocate(p, input.size(), 256);
}

TEST(CudaMemoryResourceGpu, SystemMemoryIsDeviceAccessibleOnlyWhereThePlatformSaysSo) {
  GHTIER_REQUIRE_GPU();
  SystemResource system;
  const Platform platform = detect_platform(0);
  if (!describe_mode(platform, MemoryMode::system).gpu_access) {
    EXPECT_GHTIER_ERROR((AccessCheckedResource<device_accessible>(system, platform)), ErrorCode::unsupported);
    GTEST_SKIP() << "no ATS/HMM here: system memory is refused as device-accessible, as it must be";
  }
  AccessCheckedResource<device_accessible> checked(system, platform);
  round_trip_on_device(checked, std::size_t{1} << 20);
}

}  // namespace
