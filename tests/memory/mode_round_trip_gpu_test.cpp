// Every allocation mode round-trips fresh random data through a kernel (add one to each byte) and through
// the CPU wherever the CPU can reach it, compared with a reference computed on the host. The system mode's
// CPU part runs everywhere; its kernel part skips, with the reason, where the GPU cannot read pageable memory.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "core/support/cuda_check.hpp"
#include "ghtier/memory/device_pool_resource.hpp"
#include "ghtier/memory/managed_resource.hpp"
#include "ghtier/memory/pinned_host_pool_resource.hpp"
#include "ghtier/memory/pinned_host_resource.hpp"
#include "ghtier/memory/system_resource.hpp"
#include "memory_test_kernels.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

const std::vector<std::size_t> sizes = {1, 255, 4097, (std::size_t{1} << 20) + 3, std::size_t{48} << 20};

std::vector<unsigned char> random_bytes(std::size_t n, std::mt19937_64& rng) {
  std::vector<unsigned char> data(n);
  for (auto& byte : data) byte = static_cast<unsigned char>(rng());
  return data;
}

std::vector<unsigned char> plus_one(const std::vector<unsigned char>& data) {
  std::vector<unsigned char> result(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) result[i] = static_cast<unsigned char>((data[i] + 1) & 0xFF);
  return result;
}

std::vector<unsigned char> poisoned(const std::vector<unsigned char>& expected) {
  std::vector<unsigned char> out(expected.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<unsigned char>(~expected[i]);
  return out;
}

/// data -> p (CPU writes when cpu_writes, else cudaMemcpy), kernel adds one, p -> host (CPU reads and a
/// cudaMemcpy both, where the CPU can read), each compared with the host reference.
void round_trip(MemoryResource& resource, bool cpu_access, bool gpu_access, std::mt19937_64& rng) {
  cudaStream_t stream = nullptr;
  GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  for (std::size_t n : sizes) {
    SCOPED_TRACE(testing::Message() << to_string(resource.mode()) << ", " << n << " bytes");
    const auto data = random_bytes(n, rng);
    auto* p = static_cast<unsigned char*>(resource.allocate(n));
    if (cpu_access) {
      std::memcpy(p, data.data(), n);
    } else {
      GHTIER_CUDA_CHECK(cudaMemcpy(p, data.data(), n, cudaMemcpyHostToDevice));
    }
    const auto expected = gpu_access ? plus_one(data) : data;
    if (gpu_access) {
      GHTIER_CUDA_CHECK(test::launch_add_one(p, n, stream));
      GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
    }
    if (cpu_access) {
      auto by_cpu = poisoned(expected);
      std::memcpy(by_cpu.data(), p, n);
      EXPECT_EQ(by_cpu, expected) << "read back by the CPU";
    }
    if (cpu_access || gpu_access) {
      auto by_copy = poisoned(expected);
      GHTIER_CUDA_CHECK(cudaMemcpy(by_copy.data(), p, n, cudaMemcpyDefault));
      EXPECT_EQ(by_copy, expected) << "read back by cudaMemcpy";
    }
    resource.deallocate(p, n);
  }
  GHTIER_CUDA_CHECK(cudaStreamDestroy(stream));
}

TEST(ModeRoundTrip, Device) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  DevicePoolResource resource;
  round_trip(resource, /*cpu_access=*/false, /*gpu_access=*/true, rng);
}

TEST(ModeRoundTrip, PinnedHostRegisteredRegions) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  PinnedHostResource resource;
  round_trip(resource, true, true, rng);
}

TEST(ModeRoundTrip, PinnedHostCudaPool) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  PinnedHostPoolResource resource;
  round_trip(resource, true, true, rng);
}

TEST(ModeRoundTrip, Managed) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  ManagedResource resource;
  round_trip(resource, true, true, rng);
}

TEST(ModeRoundTrip, ManagedAdvisedToStayOnTheHost) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  ManagedResource resource(
      ManagedOptions{.advice = {.preferred_location = ManagedPreferredLocation::host, .accessed_by_device = true}});
  round_trip(resource, true, true, rng);
}

TEST(ModeRoundTrip, SystemOnTheCpu) {
  // Needs no GPU: the system mode is host memory everywhere.
  auto rng = test::fresh_rng();
  SystemResource resource(SystemOptions{.populate = true});
  for (std::size_t n : sizes) {
    const auto data = random_bytes(n, rng);
    auto* p = static_cast<unsigned char*>(resource.allocate(n));
    std::memcpy(p, data.data(), n);
    auto back = poisoned(data);
    std::memcpy(back.data(), p, n);
    EXPECT_EQ(back, data) << n << " bytes";
    resource.deallocate(p, n);
  }
}

TEST(ModeRoundTrip, SystemThroughAKernel) {
  GHTIER_REQUIRE_GPU();
  int device = 0;
  GHTIER_CUDA_CHECK(cudaGetDevice(&device));
  const Platform platform = detect_platform(device);
  if (!platform.gpu_reads_pageable) {
    GTEST_SKIP() << "device " << device << " (" << to_string(platform.platform_class)
                 << ") cannot access pageable memory (cudaDevAttrPageableMemoryAccess = 0: no ATS, no HMM); the "
                    "system mode is host-only here and the transfer engine stages it";
  }
  auto rng = test::fresh_rng();
  SystemResource resource;
  round_trip(resource, true, true, rng);
}

}  // namespace
}  // namespace ghtier
