// The runtime C API end to end on a GPU: create, platform info, allocate by policy and by mode, move data
// through every allocation, spill past a budget, advise / prefetch / residency on managed memory,
// relocation, statistics, double and interior frees, destroy with live allocations.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "c_api_test_kernels.hpp"
#include "ghtier/ghtier.h"
#include "ghtier/platform/platform.hpp"
#include "test_support.hpp"

namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;

#define EXPECT_STATUS(call, expected) EXPECT_EQ((call), expected) << #call << ": " << ghtier_error_message()
#define ASSERT_STATUS(call, expected) ASSERT_EQ((call), expected) << #call << ": " << ghtier_error_message()

ghtier_placement_request_t request(std::size_t bytes, int32_t accessor, int32_t frequency, const char* tag) {
  ghtier_placement_request_t r{};
  r.struct_size = sizeof(r);
  r.bytes = bytes;
  r.accessor = accessor;
  r.frequency = frequency;
  r.tag = tag;
  return r;
}

// Fresh random bytes in through cudaMemcpy, out again into a poisoned vector: any mode, any platform.
void expect_round_trip(void* p, std::size_t n, std::mt19937_64& rng) {
  std::vector<unsigned char> in(n);
  for (auto& b : in) b = static_cast<unsigned char>(rng());
  std::vector<unsigned char> out(n, 0xEE);
  ASSERT_EQ(cudaMemcpy(p, in.data(), n, cudaMemcpyDefault), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(out.data(), p, n, cudaMemcpyDefault), cudaSuccess);
  EXPECT_TRUE(in == out);
}

class CApiGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    GHTIER_REQUIRE_GPU();
    ASSERT_STATUS(ghtier_runtime_create(nullptr, &rt_), GHTIER_SUCCESS);
  }
  void TearDown() override {
    if (rt_ != nullptr) {
      EXPECT_STATUS(ghtier_runtime_destroy(rt_), GHTIER_SUCCESS);
    }
  }
  ghtier_runtime_t* rt_ = nullptr;
};

}  // namespace

TEST_F(CApiGpu, PlatformInfoDescribesTheRealDevice) {
  ghtier_platform_info_t info{};
  info.struct_size = sizeof(info);
  ASSERT_STATUS(ghtier_runtime_get_platform_info(rt_, &info), GHTIER_SUCCESS);
  const ghtier::Platform platform = ghtier::detect_platform(0);
  EXPECT_EQ(info.offline, 0);
  EXPECT_EQ(info.device, 0);
  EXPECT_EQ(std::string(info.name), platform.attributes.name);
  EXPECT_EQ(info.gpu_reads_pageable, platform.gpu_reads_pageable ? 1 : 0);
  EXPECT_EQ(info.managed_migrates, platform.managed_migrates ? 1 : 0);
  EXPECT_EQ(info.hbm_bytes, platform.attributes.hbm_bytes);
  EXPECT_GT(info.h2d_gbps, 0.0);
}

TEST_F(CApiGpu, AllocateByPolicyAndByModeMoveDataAndFree) {
  auto rng = ghtier::test::fresh_rng();
  // By mode: every mode holds data.
  for (ghtier_memory_mode_t mode :
       {GHTIER_MODE_DEVICE, GHTIER_MODE_PINNED_HOST, GHTIER_MODE_MANAGED, GHTIER_MODE_SYSTEM}) {
    void* p = nullptr;
    ASSERT_STATUS(ghtier_memory_alloc_mode_sync(rt_, mode, 3 * MiB + 5, &p), GHTIER_SUCCESS);
    ASSERT_NE(p, nullptr);
    expect_round_trip(p, 3 * MiB + 5, rng);
    ghtier_allocation_info_t info{};
    info.struct_size = sizeof(info);
    EXPECT_STATUS(ghtier_memory_get_info(rt_, static_cast<char*>(p) + 100, &info), GHTIER_SUCCESS);
    EXPECT_EQ(info.base, p);
    EXPECT_EQ(info.bytes, 3 * MiB + 5);
    EXPECT_EQ(info.mode, mode);
    EXPECT_STATUS(ghtier_memory_free_sync(rt_, static_cast<char*>(p) + 1), GHTIER_ERROR_INVALID_ARGUMENT);  // interior
    EXPECT_STATUS(ghtier_memory_free_sync(rt_, p), GHTIER_SUCCESS);
    EXPECT_STATUS(ghtier_memory_free_sync(rt_, p), GHTIER_ERROR_NOT_FOUND);  // double free
  }
  // By policy, with a stream.
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  auto r = request(2 * MiB, GHTIER_ACCESSOR_GPU, GHTIER_FREQUENCY_HOT, "weights");
  ghtier_placement_t placement{};
  placement.struct_size = sizeof(placement);
  void* p = nullptr;
  ASSERT_STATUS(ghtier_memory_alloc(rt_, &r, stream, &p, &placement), GHTIER_SUCCESS);
  EXPECT_EQ(placement.mode, GHTIER_MODE_DEVICE);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  expect_round_trip(p, 2 * MiB, rng);
  ghtier_allocation_info_t info{};
  info.struct_size = sizeof(info);
  EXPECT_STATUS(ghtier_memory_get_info(rt_, p, &info), GHTIER_SUCCESS);
  EXPECT_EQ(std::string(info.tag), "weights");
  EXPECT_STATUS(ghtier_memory_free(rt_, p, stream), GHTIER_SUCCESS);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  // Too much for the GPU: the device refuses with out of memory (no policy in the way).
  void* huge = nullptr;
  EXPECT_STATUS(ghtier_memory_alloc_mode_sync(rt_, GHTIER_MODE_DEVICE, std::size_t{1} << 50, &huge),
                GHTIER_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(huge, nullptr);
}

TEST_F(CApiGpu, SpillPastTheDeviceBudgetAndStatistics) {
  auto rng = ghtier::test::fresh_rng();
  ASSERT_STATUS(ghtier_runtime_set_budget(rt_, GHTIER_MODE_DEVICE, 3 * MiB), GHTIER_SUCCESS);
  auto r = request(2 * MiB, GHTIER_ACCESSOR_GPU, GHTIER_FREQUENCY_HOT, "a");
  ghtier_placement_t first{};
  first.struct_size = sizeof(first);
  ghtier_placement_t second = first;
  void* a = nullptr;
  void* b = nullptr;
  ASSERT_STATUS(ghtier_memory_alloc_sync(rt_, &r, &a, &first), GHTIER_SUCCESS);
  ASSERT_STATUS(ghtier_memory_alloc_sync(rt_, &r, &b, &second), GHTIER_SUCCESS);
  EXPECT_EQ(first.mode, GHTIER_MODE_DEVICE);
  ghtier_platform_info_t info{};
  info.struct_size = sizeof(info);
  ASSERT_STATUS(ghtier_runtime_get_platform_info(rt_, &info), GHTIER_SUCCESS);
  EXPECT_EQ(second.mode, info.host_access == GHTIER_HOST_ACCESS_ATS ? GHTIER_MODE_SYSTEM : GHTIER_MODE_PINNED_HOST);
  expect_round_trip(a, 2 * MiB, rng);
  expect_round_trip(b, 2 * MiB, rng);
  ghtier_statistics_t s{};
  s.struct_size = sizeof(s);
  EXPECT_STATUS(ghtier_runtime_get_statistics(rt_, GHTIER_MODE_DEVICE, &s), GHTIER_SUCCESS);
  EXPECT_EQ(s.current_bytes, 2 * MiB);
  EXPECT_EQ(s.current_allocations, 1u);
  EXPECT_EQ(s.budget_bytes, 3 * MiB);
  std::size_t budget = 0;
  std::size_t used = 0;
  EXPECT_STATUS(ghtier_runtime_get_budget(rt_, GHTIER_MODE_DEVICE, &budget, &used), GHTIER_SUCCESS);
  EXPECT_EQ(budget, 3 * MiB);
  EXPECT_EQ(used, 2 * MiB);
  EXPECT_STATUS(ghtier_runtime_set_policy(rt_, GHTIER_POLICY_DEVICE_ONLY, 0), GHTIER_SUCCESS);
  void* c = reinterpret_cast<void*>(0x1);
  EXPECT_STATUS(ghtier_memory_alloc_sync(rt_, &r, &c, nullptr), GHTIER_ERROR_OUT_OF_BUDGET);
  EXPECT_EQ(c, nullptr);
  EXPECT_NE(std::string(ghtier_error_message()).find("budget"), std::string::npos);
  EXPECT_STATUS(ghtier_memory_free_sync(rt_, a), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_memory_free_sync(rt_, b), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_runtime_get_statistics(rt_, GHTIER_MODE_DEVICE, &s), GHTIER_SUCCESS);
  EXPECT_EQ(s.current_bytes, 0u);
  EXPECT_EQ(s.peak_bytes, 2 * MiB);
}

TEST_F(CApiGpu, AdvisePrefetchAndResidencyOfManagedMemory) {
  void* m = nullptr;
  ASSERT_STATUS(ghtier_memory_alloc_mode_sync(rt_, GHTIER_MODE_MANAGED, 4 * MiB, &m), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_memory_advise(rt_, m, 4 * MiB, GHTIER_ADVICE_SET_READ_MOSTLY, GHTIER_LOCATION_NONE),
                GHTIER_SUCCESS);
  int read_mostly = 0;
  ASSERT_EQ(cudaMemRangeGetAttribute(&read_mostly, sizeof(read_mostly), cudaMemRangeAttributeReadMostly, m, 4 * MiB),
            cudaSuccess);
  EXPECT_EQ(read_mostly, 1);
  EXPECT_STATUS(ghtier_memory_advise(rt_, m, 4 * MiB, GHTIER_ADVICE_SET_PREFERRED_LOCATION, GHTIER_LOCATION_NONE),
                GHTIER_ERROR_INVALID_ARGUMENT);  // needs a location
  EXPECT_STATUS(ghtier_memory_advise(rt_, m, 8 * MiB, GHTIER_ADVICE_SET_READ_MOSTLY, GHTIER_LOCATION_NONE),
                GHTIER_ERROR_INVALID_ARGUMENT);                                                       // past the end
  EXPECT_STATUS(ghtier_memory_prefetch(rt_, m, 0, GHTIER_LOCATION_DEVICE, nullptr), GHTIER_SUCCESS);  // a no-op
  EXPECT_STATUS(ghtier_memory_prefetch(rt_, m, 4 * MiB, GHTIER_LOCATION_NONE, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  EXPECT_STATUS(ghtier_memory_prefetch(rt_, m, 4 * MiB, GHTIER_LOCATION_DEVICE, stream), GHTIER_SUCCESS);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  ghtier_residency_t residency{};
  residency.struct_size = sizeof(residency);
  EXPECT_STATUS(ghtier_memory_get_residency(rt_, m, 4 * MiB, &residency), GHTIER_SUCCESS);
  EXPECT_EQ(residency.where, GHTIER_RESIDENCY_DEVICE);
  EXPECT_EQ(residency.device_bytes, 4 * MiB);
  EXPECT_EQ(residency.source, GHTIER_RESIDENCY_SOURCE_LAST_PREFETCH_LOCATION);
  EXPECT_EQ(residency.approximate, 1);
  EXPECT_STATUS(ghtier_memory_prefetch(rt_, m, 4 * MiB, GHTIER_LOCATION_HOST, stream), GHTIER_SUCCESS);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_STATUS(ghtier_memory_get_residency(rt_, m, 4 * MiB, &residency), GHTIER_SUCCESS);
  EXPECT_EQ(residency.where, GHTIER_RESIDENCY_HOST);
  ASSERT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  // Device memory: residency is exact; advice is unsupported.
  void* d = nullptr;
  ASSERT_STATUS(ghtier_memory_alloc_mode_sync(rt_, GHTIER_MODE_DEVICE, MiB, &d), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_memory_get_residency(rt_, d, MiB, &residency), GHTIER_SUCCESS);
  EXPECT_EQ(residency.where, GHTIER_RESIDENCY_DEVICE);
  EXPECT_EQ(residency.source, GHTIER_RESIDENCY_SOURCE_ALLOCATION_MODE);
  EXPECT_EQ(residency.approximate, 0);
  EXPECT_STATUS(ghtier_memory_advise(rt_, d, MiB, GHTIER_ADVICE_SET_READ_MOSTLY, GHTIER_LOCATION_NONE),
                GHTIER_ERROR_UNSUPPORTED);
  EXPECT_STATUS(ghtier_memory_free_sync(rt_, m), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_memory_free_sync(rt_, d), GHTIER_SUCCESS);
}

TEST_F(CApiGpu, RelocateKeepsTheBytesAndRetiresTheOldPointer) {
  auto rng = ghtier::test::fresh_rng();
  const std::size_t n = 3 * MiB + 7;
  std::vector<unsigned char> data(n);
  for (auto& b : data) b = static_cast<unsigned char>(rng());
  void* p = nullptr;
  ASSERT_STATUS(ghtier_memory_alloc_mode_sync(rt_, GHTIER_MODE_PINNED_HOST, n, &p), GHTIER_SUCCESS);
  std::memcpy(p, data.data(), n);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  for (ghtier_memory_mode_t next :
       {GHTIER_MODE_DEVICE, GHTIER_MODE_MANAGED, GHTIER_MODE_SYSTEM, GHTIER_MODE_PINNED_HOST}) {
    void* moved = nullptr;
    ASSERT_STATUS(ghtier_memory_relocate(rt_, p, next, stream, &moved), GHTIER_SUCCESS);
    ASSERT_NE(moved, nullptr);
    EXPECT_STATUS(ghtier_memory_free_sync(rt_, p), GHTIER_ERROR_NOT_FOUND);  // the old pointer is gone
    p = moved;
  }
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_EQ(std::memcmp(p, data.data(), n), 0);
  void* kept = reinterpret_cast<void*>(0x1);
  EXPECT_STATUS(ghtier_memory_relocate(rt_, p, static_cast<ghtier_memory_mode_t>(7), stream, &kept),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kept, nullptr);
  EXPECT_EQ(std::memcmp(p, data.data(), n), 0) << "a refused relocation leaves the allocation alone";
  EXPECT_STATUS(ghtier_memory_free(rt_, p, stream), GHTIER_SUCCESS);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST_F(CApiGpu, DestroyFreesWhatIsStillLive) {
  void* a = nullptr;
  void* b = nullptr;
  ASSERT_STATUS(ghtier_memory_alloc_mode_sync(rt_, GHTIER_MODE_DEVICE, MiB, &a), GHTIER_SUCCESS);
  ASSERT_STATUS(ghtier_memory_alloc_mode_sync(rt_, GHTIER_MODE_PINNED_HOST, MiB, &b), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_runtime_destroy(rt_), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_memory_free_sync(rt_, a), GHTIER_ERROR_INVALID_ARGUMENT);  // the runtime is gone
  rt_ = nullptr;
}

// The defect this guards: a stream-ordered free with stream NULL used to free at once ("not stream-ordered"),
// while PyTorch and CuPy report their default stream as 0. A slow kernel on the legacy default stream reads
// a buffer; the buffer is freed with stream NULL; an allocation on another stream that may reuse the memory
// is overwritten at once. The kernel must still see the original bytes.
TEST_F(CApiGpu, StreamOrderedFreeWithNullStreamWaitsForWorkOnTheDefaultStream) {
  std::mt19937_64 rng = ghtier::test::fresh_rng();
  const std::size_t n = std::size_t{8} << 20;  // 32 MiB of uint32
  const std::size_t bytes = n * sizeof(std::uint32_t);
  std::vector<std::uint32_t> values(n);
  for (auto& v : values) v = static_cast<std::uint32_t>(rng());
  const std::uint64_t expected = std::accumulate(values.begin(), values.end(), std::uint64_t{0});

  void* in = nullptr;
  ASSERT_STATUS(ghtier_memory_alloc_mode_sync(rt_, GHTIER_MODE_DEVICE, bytes, &in), GHTIER_SUCCESS);
  ASSERT_EQ(cudaMemcpy(in, values.data(), bytes, cudaMemcpyHostToDevice), cudaSuccess);
  std::uint64_t* partial = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&partial), ghtier::test::late_sum_blocks * sizeof(std::uint64_t)),
            cudaSuccess);
  ASSERT_EQ(cudaMemset(partial, 0xEE, ghtier::test::late_sum_blocks * sizeof(std::uint64_t)), cudaSuccess);  // poison
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

  ghtier::test::launch_late_sum(static_cast<const std::uint32_t*>(in), n, partial, 300'000'000, /*legacy*/ nullptr);
  ASSERT_STATUS(ghtier_memory_free(rt_, in, /*stream=*/nullptr), GHTIER_SUCCESS);

  cudaStream_t other = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&other, cudaStreamNonBlocking), cudaSuccess);
  void* reused = nullptr;
  ASSERT_STATUS(ghtier_memory_alloc_mode(rt_, GHTIER_MODE_DEVICE, bytes, other, &reused), GHTIER_SUCCESS);
  ASSERT_EQ(cudaMemsetAsync(reused, 0xFF, bytes, other), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(other), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

  std::vector<std::uint64_t> sums(ghtier::test::late_sum_blocks);
  ASSERT_EQ(cudaMemcpy(sums.data(), partial, sums.size() * sizeof(std::uint64_t), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(std::accumulate(sums.begin(), sums.end(), std::uint64_t{0}), expected)
      << "the kernel read memory that was reused before it ran (reused the same address: "
      << (reused == in ? "yes" : "no") << ")";
  EXPECT_STATUS(ghtier_memory_free(rt_, reused, other), GHTIER_SUCCESS);
  ASSERT_EQ(cudaStreamSynchronize(other), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(other), cudaSuccess);
  ASSERT_EQ(cudaFree(partial), cudaSuccess);
}

// NULL in ghtier_memory_relocate is the legacy default stream too: the copy waits for earlier work there.
TEST_F(CApiGpu, RelocateWithNullStreamIsOrderedOnTheDefaultStream) {
  std::mt19937_64 rng = ghtier::test::fresh_rng();
  const std::size_t n = std::size_t{1} << 20;
  const std::size_t bytes = n * sizeof(std::uint32_t);
  std::vector<std::uint32_t> values(n);
  for (auto& v : values) v = static_cast<std::uint32_t>(rng());
  void* p = nullptr;
  ASSERT_STATUS(ghtier_memory_alloc_mode_sync(rt_, GHTIER_MODE_DEVICE, bytes, &p), GHTIER_SUCCESS);
  ASSERT_EQ(cudaMemset(p, 0, bytes), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::uint64_t* partial = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&partial), ghtier::test::late_sum_blocks * sizeof(std::uint64_t)),
            cudaSuccess);
  // The legacy stream: a slow kernel, then the bytes written behind it, then the relocation.
  ghtier::test::launch_late_sum(static_cast<const std::uint32_t*>(p), n, partial, 100'000'000, nullptr);
  ASSERT_EQ(cudaMemcpyAsync(p, values.data(), bytes, cudaMemcpyHostToDevice, nullptr), cudaSuccess);
  void* moved = nullptr;
  ASSERT_STATUS(ghtier_memory_relocate(rt_, p, GHTIER_MODE_PINNED_HOST, nullptr, &moved), GHTIER_SUCCESS);
  ASSERT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
  EXPECT_EQ(std::memcmp(moved, values.data(), bytes), 0);
  EXPECT_STATUS(ghtier_memory_free_sync(rt_, moved), GHTIER_SUCCESS);
  ASSERT_EQ(cudaFree(partial), cudaSuccess);
}

// A device number that is not a GPU here is a bad argument; NO_DEVICE means "no GPU at all".
TEST(CApiGpuDevices, AnInvalidDeviceNumberIsInvalidArgument) {
  GHTIER_REQUIRE_GPU();
  int count = 0;
  ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  ghtier_runtime_options_t o{};
  o.struct_size = sizeof(o);
  ghtier_runtime_t* rt = nullptr;
  for (int32_t device : {count, count + 7, -2}) {
    o.device = device;
    EXPECT_STATUS(ghtier_runtime_create(&o, &rt), GHTIER_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(rt, nullptr);
  }
}
