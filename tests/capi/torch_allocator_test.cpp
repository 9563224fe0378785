// The PyTorch allocator slots (include/ghtier/ghtier_torch.h) without a GPU: binding and its argument
// checks, statistics, refused allocations (NULL or a throw, as bound), foreign frees, unbinding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "capi/c_api_runtime.hpp"
#include "ghtier/ghtier.h"
#include "ghtier/ghtier_torch.h"
#include "ghtier/runtime/runtime.hpp"

namespace {

#define ASSERT_STATUS(call, expected) ASSERT_EQ((call), expected) << #call << ": " << ghtier_error_message()
#define EXPECT_STATUS(call, expected) EXPECT_EQ((call), expected) << #call << ": " << ghtier_error_message()

// An offline runtime (no GPU): allocation is refused as unsupported, everything else works.
ghtier_runtime_t* offline_runtime() {
  ghtier::RuntimeOptions options;
  options.assumed_profile = "gh200";
  return ghtier::capi::make_handle(std::make_shared<ghtier::Runtime>(options));
}

ghtier_torch_slot_statistics_t statistics_of(int32_t slot) {
  ghtier_torch_slot_statistics_t s{};
  s.struct_size = sizeof(s);
  EXPECT_STATUS(ghtier_torch_slot_statistics(slot, &s), GHTIER_SUCCESS);
  return s;
}

class TorchAllocator : public ::testing::Test {
 protected:
  void SetUp() override { rt_ = offline_runtime(); }
  void TearDown() override {
    for (int32_t slot = 0; slot < GHTIER_TORCH_SLOTS; ++slot) (void)ghtier_torch_unbind(slot);
    EXPECT_STATUS(ghtier_runtime_destroy(rt_), GHTIER_SUCCESS);
  }
  ghtier_runtime_t* rt_ = nullptr;
};

TEST_F(TorchAllocator, BindChecksItsArguments) {
  ghtier_torch_bind_options_t o{};
  o.struct_size = sizeof(o);
  o.mode = 7;
  EXPECT_STATUS(ghtier_torch_bind(0, rt_, &o), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("mode is 7"), std::string::npos) << ghtier_error_message();
  o.mode = GHTIER_MODE_DEVICE;
  o.flags = 0x8;
  EXPECT_STATUS(ghtier_torch_bind(0, rt_, &o), GHTIER_ERROR_INVALID_ARGUMENT);
  o.flags = 0;
  o.struct_size = 3;
  EXPECT_STATUS(ghtier_torch_bind(0, rt_, &o), GHTIER_ERROR_INVALID_ARGUMENT);
  o.struct_size = sizeof(o);
  EXPECT_STATUS(ghtier_torch_bind(-1, rt_, &o), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_torch_bind(GHTIER_TORCH_SLOTS, rt_, &o), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("out of range"), std::string::npos) << ghtier_error_message();
  EXPECT_STATUS(ghtier_torch_bind(0, nullptr, &o), GHTIER_ERROR_INVALID_ARGUMENT);
  o.capture_reserve_bytes = 1 << 20;  // needs a GPU
  EXPECT_STATUS(ghtier_torch_bind(0, rt_, &o), GHTIER_ERROR_UNSUPPORTED);
  EXPECT_EQ(statistics_of(0).bound, 0);  // nothing was left half bound
  o.capture_reserve_bytes = 0;
  ASSERT_STATUS(ghtier_torch_bind(0, rt_, &o), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_torch_bind(0, rt_, &o), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("already bound"), std::string::npos);
  const auto s = statistics_of(0);
  EXPECT_EQ(s.bound, 1);
  EXPECT_EQ(s.mode, GHTIER_MODE_DEVICE);
  ASSERT_STATUS(ghtier_torch_unbind(0), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_torch_unbind(0), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(statistics_of(0).bound, 0);
}

TEST_F(TorchAllocator, NullOptionsBindThePolicy) {
  ASSERT_STATUS(ghtier_torch_bind(3, rt_, nullptr), GHTIER_SUCCESS);
  EXPECT_EQ(statistics_of(3).mode, GHTIER_TORCH_MODE_POLICY);
}

TEST_F(TorchAllocator, RefusedAllocationReturnsNullWithTheReason) {
  ASSERT_STATUS(ghtier_torch_bind(1, rt_, nullptr), GHTIER_SUCCESS);
  EXPECT_EQ(ghtier_torch_alloc_1(4096, 0, nullptr), nullptr);  // offline: unsupported
  const std::string why = ghtier_torch_last_error(1);
  EXPECT_NE(why.find("ghtier_torch_alloc_1: 4096 bytes"), std::string::npos) << why;
  EXPECT_EQ(ghtier_torch_alloc_1(-5, 0, nullptr), nullptr);
  EXPECT_NE(std::string(ghtier_torch_last_error(1)).find("negative"), std::string::npos);
  EXPECT_EQ(ghtier_torch_alloc_1(64, 3, nullptr), nullptr);  // another device's tensor
  EXPECT_NE(std::string(ghtier_torch_last_error(1)).find("cuda:3"), std::string::npos) << ghtier_torch_last_error(1);
  EXPECT_EQ(ghtier_torch_alloc_1(0, 0, nullptr), nullptr);  // size 0 is no failure
  const auto s = statistics_of(1);
  EXPECT_EQ(s.failed_allocations, 3u);
  EXPECT_EQ(s.total_allocations, 0u);
  EXPECT_EQ(s.current_allocations, 0u);
}

TEST_F(TorchAllocator, UnboundSlotRefuses) {
  EXPECT_EQ(ghtier_torch_alloc_5(4096, 0, nullptr), nullptr);
  EXPECT_NE(std::string(ghtier_torch_last_error(5)).find("not bound"), std::string::npos);
  EXPECT_EQ(ghtier_torch_last_error(GHTIER_TORCH_SLOTS), nullptr);
}

TEST_F(TorchAllocator, ThrowingSlotThrowsTheMessage) {
  ghtier_torch_bind_options_t o{};
  o.struct_size = sizeof(o);
  o.mode = GHTIER_TORCH_MODE_POLICY;
  o.flags = GHTIER_TORCH_THROW_ON_FAILURE;
  ASSERT_STATUS(ghtier_torch_bind(2, rt_, &o), GHTIER_SUCCESS);
  try {
    (void)ghtier_torch_alloc_2(1 << 20, 0, nullptr);
    ADD_FAILURE() << "expected a throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("1048576 bytes"), std::string::npos) << e.what();
  }
  EXPECT_EQ(statistics_of(2).failed_allocations, 1u);
}

TEST_F(TorchAllocator, ForeignFreeIsCountedAndLeftAlone) {
  ASSERT_STATUS(ghtier_torch_bind(4, rt_, nullptr), GHTIER_SUCCESS);
  int local = 42;
  ghtier_torch_free_4(&local, sizeof(local), 0, nullptr);
  ghtier_torch_free_4(nullptr, 0, 0, nullptr);  // no-op
  EXPECT_EQ(local, 42);
  EXPECT_EQ(statistics_of(4).foreign_frees, 1u);
  EXPECT_NE(std::string(ghtier_torch_last_error(4)).find("was not allocated through this slot"), std::string::npos);
  ghtier_torch_free_6(&local, sizeof(local), 0, nullptr);  // an unbound slot: counted there too
  EXPECT_EQ(statistics_of(6).foreign_frees, 1u);
}

TEST_F(TorchAllocator, SlotKeepsItsRuntimeAfterTheHandleIsGone) {
  ghtier_runtime_t* other = offline_runtime();
  ASSERT_STATUS(ghtier_torch_bind(7, other, nullptr), GHTIER_SUCCESS);
  ASSERT_STATUS(ghtier_runtime_destroy(other), GHTIER_SUCCESS);
  EXPECT_EQ(ghtier_torch_alloc_7(4096, 0, nullptr), nullptr);  // still the offline runtime's refusal
  EXPECT_NE(std::string(ghtier_torch_last_error(7)).find("4096 bytes (policy)"), std::string::npos)
      << ghtier_torch_last_error(7);
}

// The freed-block cache's bound as bound (offline: the cache itself is exercised by torch_block_cache_test and
// on the GPU by torch_allocator_gpu_test).
TEST_F(TorchAllocator, CacheFlagSetsTheBoundOnlyWherePlacementCannotMatter) {
  const std::size_t hbm = ghtier::capi::shared_runtime_of(rt_)->platform().attributes.hbm_bytes;
  ASSERT_GT(hbm, 0u);
  ghtier_torch_bind_options_t o{};
  o.struct_size = sizeof(o);
  o.mode = GHTIER_MODE_DEVICE;
  o.flags = GHTIER_TORCH_CACHE_FREED_BLOCKS;
  ASSERT_STATUS(ghtier_torch_bind(0, rt_, &o), GHTIER_SUCCESS);  // no budget: a quarter of the device's memory
  EXPECT_EQ(statistics_of(0).cache_limit_bytes, std::max(std::size_t{1} << 30, hbm / 4));
  o.mode = GHTIER_TORCH_MODE_POLICY;
  o.cache_limit_bytes = 96 << 20;
  ASSERT_STATUS(ghtier_torch_bind(1, rt_, &o), GHTIER_SUCCESS);  // the policy may place only on the device
  EXPECT_EQ(statistics_of(1).cache_limit_bytes, std::size_t{96} << 20);
  o.cache_limit_bytes = 0;
  for (int32_t mode : {GHTIER_MODE_PINNED_HOST, GHTIER_MODE_MANAGED, GHTIER_MODE_SYSTEM}) {
    o.mode = mode;
    ASSERT_STATUS(ghtier_torch_bind(2, rt_, &o), GHTIER_SUCCESS);
    EXPECT_EQ(statistics_of(2).cache_limit_bytes, 0u) << "mode " << mode << " caches nothing";
    ASSERT_STATUS(ghtier_torch_unbind(2), GHTIER_SUCCESS);
  }
  o.mode = GHTIER_MODE_DEVICE;
  o.flags = 0;
  ASSERT_STATUS(ghtier_torch_bind(3, rt_, &o), GHTIER_SUCCESS);
  EXPECT_EQ(statistics_of(3).cache_limit_bytes, 0u) << "without the flag, no cache";
  // A device budget: the larger of 1 GiB and a quarter of it.
  for (const std::size_t budget : {std::size_t{512} << 20, std::size_t{40} << 30}) {
    ASSERT_STATUS(ghtier_runtime_set_budget(rt_, GHTIER_MODE_DEVICE, budget), GHTIER_SUCCESS);
    o.flags = GHTIER_TORCH_CACHE_FREED_BLOCKS;
    ASSERT_STATUS(ghtier_torch_bind(4, rt_, &o), GHTIER_SUCCESS);
    EXPECT_EQ(statistics_of(4).cache_limit_bytes, std::max(std::size_t{1} << 30, budget / 4)) << budget;
    ASSERT_STATUS(ghtier_torch_unbind(4), GHTIER_SUCCESS);
  }
  // Unbinding clears it.
  ASSERT_STATUS(ghtier_torch_unbind(0), GHTIER_SUCCESS);
  EXPECT_EQ(statistics_of(0).cache_limit_bytes, 0u);
}

TEST_F(TorchAllocator, CacheableMissIsCountedAndTheRefusalKept) {
  ASSERT_STATUS(ghtier_runtime_set_policy(rt_, GHTIER_POLICY_DEVICE_ONLY, 0), GHTIER_SUCCESS);
  ghtier_torch_bind_options_t o{};
  o.struct_size = sizeof(o);
  o.mode = GHTIER_TORCH_MODE_POLICY;
  o.flags = GHTIER_TORCH_CACHE_FREED_BLOCKS;
  ASSERT_STATUS(ghtier_torch_bind(5, rt_, &o), GHTIER_SUCCESS);
  const uint64_t failed_before = statistics_of(5).failed_allocations;  // an unbound slot counts refusals too
  EXPECT_EQ(ghtier_torch_alloc_5(1000, 0, nullptr), nullptr);          // offline: unsupported, not retried
  EXPECT_NE(std::string(ghtier_torch_last_error(5)).find("1000 bytes (policy)"), std::string::npos)
      << ghtier_torch_last_error(5);
  auto s = statistics_of(5);
  EXPECT_EQ(s.cache_misses, 1u);
  EXPECT_EQ(s.cache_hits, 0u);
  EXPECT_EQ(s.failed_allocations, failed_before + 1);
  EXPECT_EQ(s.cached_blocks, 0u);
  // Another policy: the cache is not consulted.
  ASSERT_STATUS(ghtier_runtime_set_policy(rt_, GHTIER_POLICY_SPILL, 0), GHTIER_SUCCESS);
  EXPECT_EQ(ghtier_torch_alloc_5(1000, 0, nullptr), nullptr);
  s = statistics_of(5);
  EXPECT_EQ(s.cache_misses, 1u);
  EXPECT_EQ(s.failed_allocations, failed_before + 2);
}

TEST_F(TorchAllocator, EmptyCacheChecksTheSlotOnly) {
  EXPECT_STATUS(ghtier_torch_empty_cache(-1), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_torch_empty_cache(GHTIER_TORCH_SLOTS), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("out of range"), std::string::npos);
  EXPECT_STATUS(ghtier_torch_empty_cache(6), GHTIER_SUCCESS);  // unbound: nothing cached
  ghtier_torch_bind_options_t o{};
  o.struct_size = sizeof(o);
  o.mode = GHTIER_MODE_DEVICE;
  o.flags = GHTIER_TORCH_CACHE_FREED_BLOCKS;
  ASSERT_STATUS(ghtier_torch_bind(6, rt_, &o), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_torch_empty_cache(6), GHTIER_SUCCESS);
  EXPECT_EQ(statistics_of(6).cached_bytes, 0u);
}

// Callers built against the header before the cache: their smaller structs are still accepted, and the
// fields they do not have are neither read nor written.
TEST_F(TorchAllocator, OlderStructsAreAccepted) {
  ghtier_torch_bind_options_t o{};
  o.mode = GHTIER_MODE_DEVICE;
  o.flags = GHTIER_TORCH_CACHE_FREED_BLOCKS;
  o.cache_limit_bytes = 12345 * 512;  // beyond the old struct: must not be read
  o.struct_size = offsetof(ghtier_torch_bind_options_t, cache_limit_bytes);
  ASSERT_STATUS(ghtier_torch_bind(0, rt_, &o), GHTIER_SUCCESS);
  ghtier_torch_slot_statistics_t s{};
  s.struct_size = sizeof(s);
  ASSERT_STATUS(ghtier_torch_slot_statistics(0, &s), GHTIER_SUCCESS);
  EXPECT_NE(s.cache_limit_bytes, std::size_t{12345} * 512) << "read past the caller's struct_size";
  EXPECT_GE(s.cache_limit_bytes, std::size_t{1} << 30);
  ghtier_torch_slot_statistics_t old{};
  std::memset(&old, 0xAB, sizeof(old));
  old.struct_size = offsetof(ghtier_torch_slot_statistics_t, cached_bytes);
  ASSERT_STATUS(ghtier_torch_slot_statistics(0, &old), GHTIER_SUCCESS);
  EXPECT_EQ(old.struct_size, offsetof(ghtier_torch_slot_statistics_t, cached_bytes));
  EXPECT_EQ(old.bound, 1);
  EXPECT_EQ(old.cached_bytes, static_cast<std::size_t>(0xABABABABABABABABull)) << "written past struct_size";
  EXPECT_EQ(old.cache_limit_bytes, static_cast<std::size_t>(0xABABABABABABABABull));
  o.struct_size = offsetof(ghtier_torch_bind_options_t, tag);  // cuts a field group off: refused
  EXPECT_STATUS(ghtier_torch_bind(1, rt_, &o), GHTIER_ERROR_INVALID_ARGUMENT);
}

TEST_F(TorchAllocator, StatisticsChecksItsArguments) {
  EXPECT_STATUS(ghtier_torch_slot_statistics(0, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  ghtier_torch_slot_statistics_t s{};
  s.struct_size = 0;
  EXPECT_STATUS(ghtier_torch_slot_statistics(0, &s), GHTIER_ERROR_INVALID_ARGUMENT);
  s.struct_size = sizeof(s);
  EXPECT_STATUS(ghtier_torch_slot_statistics(-2, &s), GHTIER_ERROR_INVALID_ARGUMENT);
}

}  // namespace
