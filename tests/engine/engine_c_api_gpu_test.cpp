// The transfer engine's C API end to end on a GPU: copies in every direction through memory the runtime
// allocated (bytes checked on fresh random data), bounds of tracked allocations, released tokens, callbacks,
// stream waits, batches, prefetches, statistics, destroy with requests in flight, host registration.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine_test_buffers.hpp"
#include "ghtier/ghtier.h"
#include "test_support.hpp"

namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;

#define EXPECT_STATUS(call, expected) EXPECT_EQ((call), expected) << #call << ": " << ghtier_error_message()
#define ASSERT_STATUS(call, expected) ASSERT_EQ((call), expected) << #call << ": " << ghtier_error_message()

std::vector<unsigned char> read_back(const void* p, std::size_t n) {
  std::vector<unsigned char> out(n);
  ENGINE_TEST_CUDA(cudaMemcpy(out.data(), p, n, cudaMemcpyDefault));
  return out;
}

void write(void* p, const std::vector<unsigned char>& data) {
  ENGINE_TEST_CUDA(cudaMemcpy(p, data.data(), data.size(), cudaMemcpyDefault));
}

void count_call(void* user_data, ghtier_transfer_state_t state) {
  auto* counters = static_cast<std::atomic<int>*>(user_data);
  counters[0].fetch_add(1);
  if (state == GHTIER_TRANSFER_COMPLETED) counters[1].fetch_add(1);
  if (state == GHTIER_TRANSFER_CANCELLED) counters[2].fetch_add(1);
}

class EngineCApiGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    GHTIER_REQUIRE_GPU();
    ASSERT_STATUS(ghtier_runtime_create(nullptr, &rt_), GHTIER_SUCCESS);
    ASSERT_STATUS(ghtier_engine_create(rt_, nullptr, &engine_), GHTIER_SUCCESS);
  }
  void TearDown() override {
    if (engine_ != nullptr) {
      EXPECT_STATUS(ghtier_engine_destroy(engine_), GHTIER_SUCCESS);
    }
    if (rt_ != nullptr) {
      EXPECT_STATUS(ghtier_runtime_destroy(rt_), GHTIER_SUCCESS);
    }
  }
  void* alloc(ghtier_memory_mode_t mode, std::size_t bytes) {
    void* p = nullptr;
    EXPECT_STATUS(ghtier_memory_alloc_mode_sync(rt_, mode, bytes, &p), GHTIER_SUCCESS);
    return p;
  }
  ghtier_runtime_t* rt_ = nullptr;
  ghtier_engine_t* engine_ = nullptr;
};

TEST_F(EngineCApiGpu, CopiesInEveryDirection) {
  auto rng = ghtier::test::fresh_rng();
  struct Pair {
    ghtier_memory_mode_t from, to;
  };
  for (const Pair pair :
       {Pair{GHTIER_MODE_PINNED_HOST, GHTIER_MODE_DEVICE}, Pair{GHTIER_MODE_DEVICE, GHTIER_MODE_PINNED_HOST},
        Pair{GHTIER_MODE_SYSTEM, GHTIER_MODE_DEVICE}, Pair{GHTIER_MODE_DEVICE, GHTIER_MODE_SYSTEM},
        Pair{GHTIER_MODE_DEVICE, GHTIER_MODE_DEVICE}, Pair{GHTIER_MODE_MANAGED, GHTIER_MODE_SYSTEM}}) {
    SCOPED_TRACE(std::to_string(pair.from) + " -> " + std::to_string(pair.to));
    const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 24 * MiB)(rng);
    void* src = alloc(pair.from, n);
    void* dst = alloc(pair.to, n);
    ASSERT_NE(src, nullptr);
    ASSERT_NE(dst, nullptr);
    const std::vector<unsigned char> data = ghtier::test::random_bytes(rng, n);
    write(src, data);
    write(dst, std::vector<unsigned char>(n, ghtier::test::poison_byte));
    ghtier_token_t* token = nullptr;
    ASSERT_STATUS(ghtier_engine_copy(engine_, dst, src, n, nullptr, &token), GHTIER_SUCCESS);
    ghtier_transfer_state_t state = GHTIER_TRANSFER_PENDING;
    ASSERT_STATUS(ghtier_token_wait(token, &state), GHTIER_SUCCESS);
    EXPECT_EQ(state, GHTIER_TRANSFER_COMPLETED);
    int ready = 0;
    EXPECT_STATUS(ghtier_token_poll(token, &ready), GHTIER_SUCCESS);
    EXPECT_EQ(ready, 1);
    EXPECT_TRUE(read_back(dst, n) == data);
    EXPECT_STATUS(ghtier_token_destroy(token), GHTIER_SUCCESS);
    EXPECT_STATUS(ghtier_memory_free_sync(rt_, src), GHTIER_SUCCESS);
    EXPECT_STATUS(ghtier_memory_free_sync(rt_, dst), GHTIER_SUCCESS);
  }
}

TEST_F(EngineCApiGpu, TrackedBoundsAndReleasedTokens) {
  void* device = alloc(GHTIER_MODE_DEVICE, MiB);
  void* pinned = alloc(GHTIER_MODE_PINNED_HOST, 2 * MiB);
  ghtier_token_t* token = nullptr;
  // One byte past the end of a ghtier allocation.
  EXPECT_STATUS(ghtier_engine_copy(engine_, device, pinned, MiB + 1, nullptr, &token), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("past the end"), std::string::npos) << ghtier_error_message();
  EXPECT_EQ(token, nullptr);
  // Overlapping source and destination.
  EXPECT_STATUS(ghtier_engine_copy(engine_, static_cast<char*>(pinned) + 16, pinned, 4096, nullptr, &token),
                GHTIER_ERROR_INVALID_ARGUMENT);
  // A released token says so.
  ASSERT_STATUS(ghtier_engine_copy(engine_, device, pinned, MiB, nullptr, &token), GHTIER_SUCCESS);
  ASSERT_STATUS(ghtier_token_wait(token, nullptr), GHTIER_SUCCESS);
  ASSERT_STATUS(ghtier_token_destroy(token), GHTIER_SUCCESS);
  int ready = 0;
  EXPECT_STATUS(ghtier_token_poll(token, &ready), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("not a live token"), std::string::npos) << ghtier_error_message();
  EXPECT_STATUS(ghtier_token_wait(token, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_token_wait_on_stream(token, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_token_destroy(token), GHTIER_ERROR_INVALID_ARGUMENT);
  // Prefetching device or pinned memory is refused as UNSUPPORTED, through the engine and the runtime alike.
  EXPECT_STATUS(ghtier_engine_prefetch(engine_, device, MiB, GHTIER_PREFETCH_DEVICE, nullptr, &token),
                GHTIER_ERROR_UNSUPPORTED);
  EXPECT_STATUS(ghtier_memory_prefetch(rt_, device, MiB, GHTIER_LOCATION_DEVICE, nullptr), GHTIER_ERROR_UNSUPPORTED);
  EXPECT_STATUS(ghtier_engine_prefetch(engine_, pinned, MiB, GHTIER_PREFETCH_HOST, nullptr, &token),
                GHTIER_ERROR_UNSUPPORTED);
  EXPECT_STATUS(ghtier_memory_prefetch(rt_, pinned, MiB, GHTIER_LOCATION_HOST, nullptr), GHTIER_ERROR_UNSUPPORTED);
  EXPECT_STATUS(ghtier_memory_free_sync(rt_, device), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_memory_free_sync(rt_, pinned), GHTIER_SUCCESS);
}

TEST_F(EngineCApiGpu, CallbacksStreamWaitsBatchesPrefetchesStatistics) {
  auto rng = ghtier::test::fresh_rng();
  const std::size_t n = 32 * MiB;
  void* pinned = alloc(GHTIER_MODE_PINNED_HOST, n);
  void* device = alloc(GHTIER_MODE_DEVICE, n);
  void* back = alloc(GHTIER_MODE_PINNED_HOST, n);
  const std::vector<unsigned char> data = ghtier::test::random_bytes(rng, n);
  std::memcpy(pinned, data.data(), n);
  std::memset(back, ghtier::test::poison_byte, n);
  std::atomic<int> counters[3] = {0, 0, 0};
  cudaStream_t consumer = nullptr;
  ENGINE_TEST_CUDA(cudaStreamCreateWithFlags(&consumer, cudaStreamNonBlocking));

  ghtier_transfer_options_t o{};
  o.struct_size = sizeof(o);
  o.priority = GHTIER_PRIORITY_URGENT;
  o.on_complete = count_call;
  o.user_data = counters;
  ghtier_token_t* token = nullptr;
  ASSERT_STATUS(ghtier_engine_copy(engine_, device, pinned, n, &o, &token), GHTIER_SUCCESS);
  ASSERT_STATUS(ghtier_token_wait_on_stream(token, consumer), GHTIER_SUCCESS);
  ENGINE_TEST_CUDA(cudaMemcpyAsync(back, device, n, cudaMemcpyDeviceToHost, consumer));
  ENGINE_TEST_CUDA(cudaStreamSynchronize(consumer));
  EXPECT_EQ(std::memcmp(back, data.data(), n), 0) << "the consumer stream did not wait";
  EXPECT_STATUS(ghtier_token_destroy(token), GHTIER_SUCCESS);

  // A batch of 100 scattered 64 KiB blocks back to the host, after the consumer stream's work.
  std::memset(back, ghtier::test::poison_byte, n);
  std::vector<void*> dsts;
  std::vector<const void*> srcs;
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < 100; ++i) {
    const std::size_t at = (i * 37 % 100) * (64 << 10);
    dsts.push_back(static_cast<char*>(back) + at);
    srcs.push_back(static_cast<const char*>(device) + at);
    sizes.push_back(64 << 10);
  }
  void* streams[1] = {consumer};
  o.wait_streams = streams;
  o.num_wait_streams = 1;
  o.priority = GHTIER_PRIORITY_BACKGROUND;
  ASSERT_STATUS(ghtier_engine_copy_batch(engine_, dsts.data(), srcs.data(), sizes.data(), dsts.size(), &o, &token),
                GHTIER_SUCCESS);
  ASSERT_STATUS(ghtier_token_wait(token, nullptr), GHTIER_SUCCESS);
  EXPECT_EQ(std::memcmp(back, data.data(), 100 * (64 << 10)), 0);
  EXPECT_STATUS(ghtier_token_destroy(token), GHTIER_SUCCESS);

  // A managed prefetch to the device and back.
  void* managed = alloc(GHTIER_MODE_MANAGED, n);
  std::memcpy(managed, data.data(), n);
  for (ghtier_prefetch_target_t target : {GHTIER_PREFETCH_DEVICE, GHTIER_PREFETCH_HOST}) {
    ASSERT_STATUS(ghtier_engine_prefetch(engine_, managed, n, target, nullptr, &token), GHTIER_SUCCESS);
    ghtier_transfer_state_t state = GHTIER_TRANSFER_PENDING;
    ASSERT_STATUS(ghtier_token_wait(token, &state), GHTIER_SUCCESS);
    EXPECT_EQ(state, GHTIER_TRANSFER_COMPLETED);
    EXPECT_STATUS(ghtier_token_destroy(token), GHTIER_SUCCESS);
  }
  EXPECT_EQ(std::memcmp(managed, data.data(), n), 0);

  ASSERT_STATUS(ghtier_engine_synchronize(engine_), GHTIER_SUCCESS);
  EXPECT_EQ(counters[0].load(), 2) << "each callback runs exactly once";
  EXPECT_EQ(counters[1].load(), 2);
  ghtier_engine_statistics_t stats{};
  stats.struct_size = sizeof(stats);
  ASSERT_STATUS(ghtier_engine_get_statistics(engine_, &stats), GHTIER_SUCCESS);
  EXPECT_EQ(stats.submitted, 4u);
  EXPECT_EQ(stats.completed, 4u);
  EXPECT_EQ(stats.to_device.bytes, 2 * n);  // the copy, and the prefetch to the device
  EXPECT_GE(stats.to_host.bytes, 100u * (64 << 10));
  EXPECT_EQ(stats.queue_depth, 0u);
  // Zero bytes is a valid no-op in both APIs: a completed token from the engine, success from the runtime.
  ASSERT_STATUS(ghtier_engine_prefetch(engine_, managed, 0, GHTIER_PREFETCH_DEVICE, nullptr, &token), GHTIER_SUCCESS);
  ghtier_transfer_state_t zero_state = GHTIER_TRANSFER_PENDING;
  ASSERT_STATUS(ghtier_token_wait(token, &zero_state), GHTIER_SUCCESS);
  EXPECT_EQ(zero_state, GHTIER_TRANSFER_COMPLETED);
  EXPECT_STATUS(ghtier_token_destroy(token), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_memory_prefetch(rt_, managed, 0, GHTIER_LOCATION_DEVICE, nullptr), GHTIER_SUCCESS);
  ENGINE_TEST_CUDA(cudaStreamDestroy(consumer));
  for (void* p : {pinned, device, back, managed}) {
    EXPECT_STATUS(ghtier_memory_free_sync(rt_, p), GHTIER_SUCCESS);
  }
}

TEST_F(EngineCApiGpu, DestroyWithRequestsInFlight) {
  const std::size_t n = 64 * MiB;
  void* device = alloc(GHTIER_MODE_DEVICE, n);
  void* pinned = alloc(GHTIER_MODE_PINNED_HOST, n);
  std::atomic<int> counters[3] = {0, 0, 0};
  ghtier_transfer_options_t o{};
  o.struct_size = sizeof(o);
  o.on_complete = count_call;
  o.user_data = counters;
  std::vector<ghtier_token_t*> tokens(24, nullptr);
  for (auto& t : tokens) {
    ASSERT_STATUS(ghtier_engine_copy(engine_, pinned, device, n, &o, &t), GHTIER_SUCCESS);
  }
  ASSERT_STATUS(ghtier_engine_destroy(engine_), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_engine_destroy(engine_), GHTIER_ERROR_INVALID_ARGUMENT);
  ghtier_token_t* token = nullptr;
  EXPECT_STATUS(ghtier_engine_copy(engine_, pinned, device, n, nullptr, &token), GHTIER_ERROR_INVALID_ARGUMENT);
  engine_ = nullptr;
  int completed = 0;
  int cancelled = 0;
  for (auto* t : tokens) {
    int ready = 0;
    ASSERT_STATUS(ghtier_token_poll(t, &ready), GHTIER_SUCCESS);
    EXPECT_EQ(ready, 1) << "a request neither completed nor was cancelled";
    ghtier_transfer_state_t state = GHTIER_TRANSFER_PENDING;
    EXPECT_STATUS(ghtier_token_wait(t, &state), GHTIER_SUCCESS);
    completed += state == GHTIER_TRANSFER_COMPLETED;
    cancelled += state == GHTIER_TRANSFER_CANCELLED;
    if (state == GHTIER_TRANSFER_CANCELLED) {
      EXPECT_STATUS(ghtier_token_wait_on_stream(t, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
    }
    EXPECT_STATUS(ghtier_token_destroy(t), GHTIER_SUCCESS);
  }
  EXPECT_EQ(completed + cancelled, 24);
  EXPECT_GT(cancelled, 0);
  EXPECT_EQ(counters[0].load(), 24);
  EXPECT_EQ(counters[1].load(), completed);
  EXPECT_EQ(counters[2].load(), cancelled);
  EXPECT_STATUS(ghtier_memory_free_sync(rt_, device), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_memory_free_sync(rt_, pinned), GHTIER_SUCCESS);
}

TEST_F(EngineCApiGpu, HostRegistration) {
  auto rng = ghtier::test::fresh_rng();
  const std::size_t n = 16 * MiB;
  void* host = std::aligned_alloc(4096, n);
  ASSERT_NE(host, nullptr);
  const std::vector<unsigned char> data = ghtier::test::random_bytes(rng, n);
  std::memcpy(host, data.data(), n);
  void* device = alloc(GHTIER_MODE_DEVICE, n);
  ghtier_host_registration_t* registration = nullptr;
  ASSERT_STATUS(ghtier_host_registration_create(host, n, &registration), GHTIER_SUCCESS);
  ghtier_host_registration_t* again = nullptr;
  EXPECT_STATUS(ghtier_host_registration_create(host, n, &again), GHTIER_ERROR_INVALID_ARGUMENT);
  ghtier_engine_statistics_t before{};
  before.struct_size = sizeof(before);
  ASSERT_STATUS(ghtier_engine_get_statistics(engine_, &before), GHTIER_SUCCESS);
  ghtier_token_t* token = nullptr;
  ASSERT_STATUS(ghtier_engine_copy(engine_, device, host, n, nullptr, &token), GHTIER_SUCCESS);
  ASSERT_STATUS(ghtier_token_wait(token, nullptr), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_token_destroy(token), GHTIER_SUCCESS);
  ghtier_engine_statistics_t after{};
  after.struct_size = sizeof(after);
  ASSERT_STATUS(ghtier_engine_get_statistics(engine_, &after), GHTIER_SUCCESS);
  EXPECT_EQ(after.staged_to_device_bytes, before.staged_to_device_bytes) << "registered memory was staged";
  EXPECT_TRUE(read_back(device, n) == data);
  EXPECT_STATUS(ghtier_host_registration_destroy(registration), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_host_registration_destroy(registration), GHTIER_ERROR_INVALID_ARGUMENT);
  // Pinned memory from the runtime needs no registration.
  void* pinned = alloc(GHTIER_MODE_PINNED_HOST, 4096);
  EXPECT_STATUS(ghtier_host_registration_create(pinned, 4096, &again), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_memory_free_sync(rt_, pinned), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_memory_free_sync(rt_, device), GHTIER_SUCCESS);
  std::free(host);
}

}  // namespace
