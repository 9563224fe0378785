// Argument checking of the runtime C API, without a GPU: NULL and destroyed handles, NULL outputs, zero
// and absurd sizes, values outside the enums, foreign pointers, struct versioning (sizes too small, zero,
// too large, older), the offline runtime, the no-GPU error, thread-local errors, and the handle registry
// under 16 threads.
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "capi/c_api_runtime.hpp"
#include "ghtier/ghtier.h"
#include "runtime/fake_resource.hpp"
#include "test_support.hpp"

namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;

#define EXPECT_STATUS(call, expected)                                        \
  do {                                                                       \
    const ghtier_status_t status_ = (call);                                  \
    EXPECT_EQ(status_, expected) << #call << ": " << ghtier_error_message(); \
    if (status_ != GHTIER_SUCCESS) {                                         \
      EXPECT_STRNE(ghtier_error_message(), "") << #call;                     \
    }                                                                        \
  } while (0)

ghtier_runtime_t* offline(const char* profile = "gh200") {
  ghtier_runtime_options_t o{};
  o.struct_size = sizeof(o);
  o.assumed_profile = profile;
  ghtier_runtime_t* rt = nullptr;
  EXPECT_EQ(ghtier_runtime_create(&o, &rt), GHTIER_SUCCESS) << ghtier_error_message();
  return rt;
}

ghtier_placement_request_t request(std::size_t bytes) {
  ghtier_placement_request_t r{};
  r.struct_size = sizeof(r);
  r.bytes = bytes;
  r.accessor = GHTIER_ACCESSOR_GPU;
  r.frequency = GHTIER_FREQUENCY_HOT;
  return r;
}

ghtier_placement_t placement_out() {
  ghtier_placement_t p{};
  p.struct_size = sizeof(p);
  return p;
}

std::string last_error() { return ghtier_error_message(); }

// Every function that takes a runtime, called with `rt` and otherwise valid arguments.
std::vector<std::pair<const char*, std::function<ghtier_status_t(ghtier_runtime_t*)>>> every_runtime_function() {
  static int local = 0;
  return {
      {"ghtier_runtime_get_platform_info",
       [](ghtier_runtime_t* rt) {
         ghtier_platform_info_t i{};
         i.struct_size = sizeof(i);
         return ghtier_runtime_get_platform_info(rt, &i);
       }},
      {"ghtier_runtime_set_policy",
       [](ghtier_runtime_t* rt) { return ghtier_runtime_set_policy(rt, GHTIER_POLICY_SPILL, 0); }},
      {"ghtier_runtime_get_policy",
       [](ghtier_runtime_t* rt) {
         ghtier_policy_t p;
         return ghtier_runtime_get_policy(rt, &p);
       }},
      {"ghtier_runtime_resolve",
       [](ghtier_runtime_t* rt) {
         auto r = request(64);
         auto p = placement_out();
         return ghtier_runtime_resolve(rt, &r, &p);
       }},
      {"ghtier_memory_alloc",
       [](ghtier_runtime_t* rt) {
         auto r = request(64);
         void* p = nullptr;
         return ghtier_memory_alloc(rt, &r, nullptr, &p, nullptr);
       }},
      {"ghtier_memory_alloc_sync",
       [](ghtier_runtime_t* rt) {
         auto r = request(64);
         void* p = nullptr;
         return ghtier_memory_alloc_sync(rt, &r, &p, nullptr);
       }},
      {"ghtier_memory_alloc_mode",
       [](ghtier_runtime_t* rt) {
         void* p = nullptr;
         return ghtier_memory_alloc_mode(rt, GHTIER_MODE_DEVICE, 64, nullptr, &p);
       }},
      {"ghtier_memory_alloc_mode_sync",
       [](ghtier_runtime_t* rt) {
         void* p = nullptr;
         return ghtier_memory_alloc_mode_sync(rt, GHTIER_MODE_DEVICE, 64, &p);
       }},
      {"ghtier_memory_free", [](ghtier_runtime_t* rt) { return ghtier_memory_free(rt, &local, nullptr); }},
      {"ghtier_memory_free_sync", [](ghtier_runtime_t* rt) { return ghtier_memory_free_sync(rt, &local); }},
      {"ghtier_memory_get_info",
       [](ghtier_runtime_t* rt) {
         ghtier_allocation_info_t i{};
         i.struct_size = sizeof(i);
         return ghtier_memory_get_info(rt, &local, &i);
       }},
      {"ghtier_memory_relocate",
       [](ghtier_runtime_t* rt) {
         void* p = nullptr;
         return ghtier_memory_relocate(rt, &local, GHTIER_MODE_DEVICE, nullptr, &p);
       }},
      {"ghtier_memory_relocate_sync",
       [](ghtier_runtime_t* rt) {
         void* p = nullptr;
         return ghtier_memory_relocate_sync(rt, &local, GHTIER_MODE_DEVICE, &p);
       }},
      {"ghtier_memory_prefetch",
       [](ghtier_runtime_t* rt) { return ghtier_memory_prefetch(rt, &local, 4, GHTIER_LOCATION_DEVICE, nullptr); }},
      {"ghtier_memory_advise",
       [](ghtier_runtime_t* rt) {
         return ghtier_memory_advise(rt, &local, 4, GHTIER_ADVICE_SET_READ_MOSTLY, GHTIER_LOCATION_NONE);
       }},
      {"ghtier_memory_get_residency",
       [](ghtier_runtime_t* rt) {
         ghtier_residency_t r{};
         r.struct_size = sizeof(r);
         return ghtier_memory_get_residency(rt, &local, 4, &r);
       }},
      {"ghtier_runtime_get_statistics",
       [](ghtier_runtime_t* rt) {
         ghtier_statistics_t s{};
         s.struct_size = sizeof(s);
         return ghtier_runtime_get_statistics(rt, GHTIER_MODE_DEVICE, &s);
       }},
      {"ghtier_runtime_set_budget",
       [](ghtier_runtime_t* rt) { return ghtier_runtime_set_budget(rt, GHTIER_MODE_DEVICE, MiB); }},
      {"ghtier_runtime_get_budget",
       [](ghtier_runtime_t* rt) {
         std::size_t b = 0;
         return ghtier_runtime_get_budget(rt, GHTIER_MODE_DEVICE, &b, nullptr);
       }},
  };
}

}  // namespace

TEST(CApiRuntime, NoGpuMeansNoDeviceAndTheMessageSaysSo) {
  if (ghtier::visible_device_count() > 0) GTEST_SKIP() << "a GPU is visible: this checks the no-GPU error";
  ghtier_runtime_t* rt = reinterpret_cast<ghtier_runtime_t*>(0x1);
  EXPECT_EQ(ghtier_runtime_create(nullptr, &rt), GHTIER_ERROR_NO_DEVICE);
  EXPECT_EQ(rt, nullptr) << "the output is cleared on failure";
  EXPECT_NE(last_error().find("no CUDA device"), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("ghtier_runtime_create"), std::string::npos) << last_error();
  // Options with only struct_size (the oldest possible caller): defaults, so the same answer.
  ghtier_runtime_options_t o{};
  o.struct_size = sizeof(std::size_t);
  o.assumed_profile = "gh200";  // beyond struct_size: must be ignored
  EXPECT_STATUS(ghtier_runtime_create(&o, &rt), GHTIER_ERROR_NO_DEVICE);
}

TEST(CApiRuntime, CreateChecksItsArguments) {
  EXPECT_STATUS(ghtier_runtime_create(nullptr, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("runtime"), std::string::npos);
  ghtier_runtime_t* rt = nullptr;
  ghtier_runtime_options_t o{};
  o.assumed_profile = "gh200";
  for (std::size_t bad_size : {std::size_t{0}, std::size_t{4}, std::size_t{12}, sizeof(o) + 8, std::size_t{1} << 40}) {
    o.struct_size = bad_size;
    EXPECT_STATUS(ghtier_runtime_create(&o, &rt), GHTIER_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("struct_size"), std::string::npos) << last_error();
    EXPECT_EQ(rt, nullptr);
  }
  o.struct_size = sizeof(o);
  o.policy = 17;
  EXPECT_STATUS(ghtier_runtime_create(&o, &rt), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("policy = 17"), std::string::npos) << last_error();
  o.policy = GHTIER_POLICY_SPILL;
  o.assumed_profile = "";
  EXPECT_STATUS(ghtier_runtime_create(&o, &rt), GHTIER_ERROR_INVALID_ARGUMENT);
  o.assumed_profile = "gh300";
  EXPECT_STATUS(ghtier_runtime_create(&o, &rt), GHTIER_ERROR_NOT_FOUND);
  EXPECT_NE(last_error().find("gh200"), std::string::npos) << "the message lists the known profiles: " << last_error();
  o.assumed_profile = nullptr;
  o.device = -5;
  EXPECT_STATUS(ghtier_runtime_create(&o, &rt), GHTIER_ERROR_INVALID_ARGUMENT);
}

TEST(CApiRuntime, EveryFunctionRefusesNullForeignAndDestroyedHandles) {
  ghtier_runtime_t* destroyed = offline();
  ASSERT_NE(destroyed, nullptr);
  ASSERT_EQ(ghtier_runtime_destroy(destroyed), GHTIER_SUCCESS);
  ghtier_runtime_t* foreign = reinterpret_cast<ghtier_runtime_t*>(0x1234);
  for (const auto& [name, call] : every_runtime_function()) {
    EXPECT_EQ(call(nullptr), GHTIER_ERROR_INVALID_ARGUMENT) << name;
    EXPECT_NE(last_error().find(name), std::string::npos) << last_error();
    EXPECT_NE(last_error().find("NULL"), std::string::npos) << last_error();
    EXPECT_EQ(call(destroyed), GHTIER_ERROR_INVALID_ARGUMENT) << name;
    EXPECT_NE(last_error().find("not a live runtime"), std::string::npos) << last_error();
    EXPECT_EQ(call(foreign), GHTIER_ERROR_INVALID_ARGUMENT) << name;
  }
  EXPECT_STATUS(ghtier_runtime_destroy(destroyed), GHTIER_ERROR_INVALID_ARGUMENT);  // twice
  EXPECT_STATUS(ghtier_runtime_destroy(foreign), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_runtime_destroy(nullptr), GHTIER_SUCCESS);  // like free(NULL)
  // A later runtime never takes a destroyed handle's value.
  ghtier_runtime_t* later = offline();
  EXPECT_NE(later, destroyed);
  EXPECT_STATUS(ghtier_runtime_destroy(later), GHTIER_SUCCESS);
}

TEST(CApiRuntime, OfflineRuntimeRefusesToTouchMemory) {
  ghtier_runtime_t* rt = offline();
  for (const auto& [name, call] : every_runtime_function()) {
    const ghtier_status_t status = call(rt);
    const std::string n = name;
    if (n.starts_with("ghtier_memory_alloc") || n == "ghtier_memory_prefetch" || n == "ghtier_memory_advise" ||
        n == "ghtier_memory_get_residency") {
      EXPECT_EQ(status, GHTIER_ERROR_UNSUPPORTED) << name << ": " << last_error();
      EXPECT_NE(last_error().find("offline"), std::string::npos) << last_error();
    } else if (n.starts_with("ghtier_memory_free") || n == "ghtier_memory_get_info" ||
               n.starts_with("ghtier_memory_relocate")) {
      EXPECT_EQ(status, GHTIER_ERROR_NOT_FOUND) << name << ": " << last_error();  // a pointer ghtier never returned
    } else {
      EXPECT_EQ(status, GHTIER_SUCCESS) << name << ": " << last_error();
    }
  }
  EXPECT_STATUS(ghtier_runtime_destroy(rt), GHTIER_SUCCESS);
}

TEST(CApiRuntime, PlatformInfoOfAProfileAndOutputVersioning) {
  ghtier_runtime_t* rt = offline("gh200");
  ghtier_platform_info_t info{};
  info.struct_size = sizeof(info);
  EXPECT_STATUS(ghtier_runtime_get_platform_info(rt, &info), GHTIER_SUCCESS);
  EXPECT_EQ(info.struct_size, sizeof(info));
  EXPECT_EQ(info.platform_class, GHTIER_PLATFORM_COHERENT_C2C);
  EXPECT_EQ(info.host_access, GHTIER_HOST_ACCESS_ATS);
  EXPECT_EQ(info.coherent, 1);
  EXPECT_EQ(info.gpu_reads_pageable, 1);
  EXPECT_EQ(info.offline, 1);
  EXPECT_EQ(info.compute_major, 9);
  EXPECT_EQ(std::string(info.name), "NVIDIA GH200 480GB");
  EXPECT_DOUBLE_EQ(info.h2d_gbps, 381.7);
  EXPECT_EQ(info.hbm_bytes, std::size_t{96} << 30);

  // An older, smaller struct: only the fields it covers are written.
  ghtier_platform_info_t old{};
  std::memset(&old, 0x5a, sizeof(old));
  old.struct_size = offsetof(ghtier_platform_info_t, hbm_bytes);
  EXPECT_STATUS(ghtier_runtime_get_platform_info(rt, &old), GHTIER_SUCCESS);
  EXPECT_EQ(old.struct_size, offsetof(ghtier_platform_info_t, hbm_bytes));
  EXPECT_EQ(old.platform_class, GHTIER_PLATFORM_COHERENT_C2C);
  EXPECT_EQ(old.offline, 1);
  unsigned char untouched[sizeof(double)];
  std::memset(untouched, 0x5a, sizeof(untouched));
  EXPECT_EQ(std::memcmp(&old.h2d_gbps, untouched, sizeof(double)), 0) << "wrote past struct_size";
  EXPECT_EQ(static_cast<unsigned char>(old.name[0]), 0x5a);

  EXPECT_STATUS(ghtier_runtime_get_platform_info(rt, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  for (std::size_t bad : {std::size_t{0}, std::size_t{3}, sizeof(info) + 8}) {
    info.struct_size = bad;
    EXPECT_STATUS(ghtier_runtime_get_platform_info(rt, &info), GHTIER_ERROR_INVALID_ARGUMENT);
  }
  ghtier_runtime_t* pcie = offline("x86-h100-pcie");
  info.struct_size = sizeof(info);
  EXPECT_STATUS(ghtier_runtime_get_platform_info(pcie, &info), GHTIER_SUCCESS);
  EXPECT_EQ(info.platform_class, GHTIER_PLATFORM_PCIE);
  EXPECT_EQ(info.gpu_reads_pageable, 0);
  EXPECT_STATUS(ghtier_runtime_destroy(pcie), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_runtime_destroy(rt), GHTIER_SUCCESS);
}

TEST(CApiRuntime, ResolveChecksTheRequestAndAnswersPerPlatform) {
  ghtier_runtime_t* gh200 = offline("gh200");
  ghtier_runtime_t* pcie = offline("x86-h100-pcie");
  auto p = placement_out();
  auto r = request(MiB);
  EXPECT_STATUS(ghtier_runtime_resolve(gh200, nullptr, &p), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_runtime_resolve(gh200, &r, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  r.bytes = 0;
  EXPECT_STATUS(ghtier_runtime_resolve(gh200, &r, &p), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("bytes"), std::string::npos) << last_error();
  r.bytes = SIZE_MAX;
  EXPECT_STATUS(ghtier_runtime_resolve(gh200, &r, &p), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("absurd"), std::string::npos) << last_error();
  r = request(MiB);
  r.accessor = 7;
  EXPECT_STATUS(ghtier_runtime_resolve(gh200, &r, &p), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("accessor = 7"), std::string::npos) << last_error();
  r = request(MiB);
  r.frequency = -1;
  EXPECT_STATUS(ghtier_runtime_resolve(gh200, &r, &p), GHTIER_ERROR_INVALID_ARGUMENT);
  r = request(MiB);
  r.flags = 0x8;
  EXPECT_STATUS(ghtier_runtime_resolve(gh200, &r, &p), GHTIER_ERROR_INVALID_ARGUMENT);
  for (std::size_t bad : {std::size_t{0}, std::size_t{8}, std::size_t{20}, sizeof(r) + 8}) {
    r = request(MiB);
    r.struct_size = bad;
    EXPECT_STATUS(ghtier_runtime_resolve(gh200, &r, &p), GHTIER_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("struct_size"), std::string::npos) << last_error();
  }
  r = request(MiB);
  p.struct_size = 0;
  EXPECT_STATUS(ghtier_runtime_resolve(gh200, &r, &p), GHTIER_ERROR_INVALID_ARGUMENT);

  // An older request that ends before `accessor`: the rest is defaulted (GPU, hot, no flags, no tag), so
  // the garbage beyond it is never read.
  r = request(3 * MiB);
  r.struct_size = offsetof(ghtier_placement_request_t, accessor);
  r.accessor = 99;
  r.frequency = 99;
  r.flags = 0xff;
  p = placement_out();
  EXPECT_STATUS(ghtier_runtime_resolve(gh200, &r, &p), GHTIER_SUCCESS);
  EXPECT_EQ(p.mode, GHTIER_MODE_DEVICE);

  // Spill past a device budget: GH200 system memory (prefer host, accessed by GPU), PCIe pinned.
  EXPECT_STATUS(ghtier_runtime_set_budget(gh200, GHTIER_MODE_DEVICE, MiB), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_runtime_set_budget(pcie, GHTIER_MODE_DEVICE, MiB), GHTIER_SUCCESS);
  r = request(2 * MiB);
  r.tag = "kv";
  p = placement_out();
  EXPECT_STATUS(ghtier_runtime_resolve(gh200, &r, &p), GHTIER_SUCCESS);
  EXPECT_EQ(p.mode, GHTIER_MODE_SYSTEM);
  EXPECT_EQ(p.preferred_location, GHTIER_LOCATION_HOST);
  EXPECT_EQ(p.accessed_by, GHTIER_ACCESSED_BY_GPU);
  EXPECT_EQ(p.flags, 0u);
  EXPECT_NE(std::string(p.reason).find("spill"), std::string::npos) << p.reason;
  EXPECT_STATUS(ghtier_runtime_resolve(pcie, &r, &p), GHTIER_SUCCESS);
  EXPECT_EQ(p.mode, GHTIER_MODE_PINNED_HOST);
  EXPECT_EQ(p.accessed_by, 0u);

  // Unified, hot GPU data, read-mostly: managed on PCIe, prefer device, prefetched, read-mostly.
  EXPECT_STATUS(ghtier_runtime_set_policy(pcie, GHTIER_POLICY_UNIFIED, 0), GHTIER_SUCCESS);
  r.flags = GHTIER_REQUEST_READ_MOSTLY;
  EXPECT_STATUS(ghtier_runtime_resolve(pcie, &r, &p), GHTIER_SUCCESS);
  EXPECT_EQ(p.mode, GHTIER_MODE_MANAGED);
  EXPECT_EQ(p.preferred_location, GHTIER_LOCATION_DEVICE);
  EXPECT_EQ(p.flags, GHTIER_PLACEMENT_READ_MOSTLY | GHTIER_PLACEMENT_PREFETCH_TO_GPU);
  EXPECT_STATUS(ghtier_runtime_destroy(pcie), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_runtime_destroy(gh200), GHTIER_SUCCESS);
}

TEST(CApiRuntime, PolicySelection) {
  ghtier_runtime_t* rt = offline("x86-h100-pcie");
  ghtier_policy_t policy = GHTIER_POLICY_UNIFIED;
  EXPECT_STATUS(ghtier_runtime_get_policy(rt, &policy), GHTIER_SUCCESS);
  EXPECT_EQ(policy, GHTIER_POLICY_SPILL);
  EXPECT_STATUS(ghtier_runtime_get_policy(rt, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_runtime_set_policy(rt, static_cast<ghtier_policy_t>(5), 0), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_runtime_set_policy(rt, static_cast<ghtier_policy_t>(-1), 0), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_runtime_get_policy(rt, &policy), GHTIER_SUCCESS);
  EXPECT_EQ(policy, GHTIER_POLICY_SPILL) << "a refused selection changes nothing";
  EXPECT_STATUS(ghtier_runtime_set_policy(rt, GHTIER_POLICY_SIZE_THRESHOLD, 4 * MiB), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_runtime_get_policy(rt, &policy), GHTIER_SUCCESS);
  EXPECT_EQ(policy, GHTIER_POLICY_SIZE_THRESHOLD);
  auto r = request(4 * MiB);
  auto p = placement_out();
  EXPECT_STATUS(ghtier_runtime_resolve(rt, &r, &p), GHTIER_SUCCESS);
  EXPECT_EQ(p.mode, GHTIER_MODE_PINNED_HOST);
  r.bytes = 4 * MiB - 1;
  EXPECT_STATUS(ghtier_runtime_resolve(rt, &r, &p), GHTIER_SUCCESS);
  EXPECT_EQ(p.mode, GHTIER_MODE_DEVICE);
  for (ghtier_policy_t each : {GHTIER_POLICY_SPILL, GHTIER_POLICY_DEVICE_ONLY, GHTIER_POLICY_SIZE_THRESHOLD,
                               GHTIER_POLICY_HOST_CACHE, GHTIER_POLICY_UNIFIED}) {
    EXPECT_STATUS(ghtier_runtime_set_policy(rt, each, 0), GHTIER_SUCCESS);
    EXPECT_STATUS(ghtier_runtime_get_policy(rt, &policy), GHTIER_SUCCESS);
    EXPECT_EQ(policy, each);
  }
  // The runtime's own option selects too.
  ghtier_runtime_options_t o{};
  o.struct_size = sizeof(o);
  o.assumed_profile = "x86-h100-pcie";
  o.policy = GHTIER_POLICY_HOST_CACHE;
  ghtier_runtime_t* cache = nullptr;
  EXPECT_STATUS(ghtier_runtime_create(&o, &cache), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_runtime_resolve(cache, &r, &p), GHTIER_SUCCESS);
  EXPECT_EQ(p.mode, GHTIER_MODE_PINNED_HOST);
  EXPECT_STATUS(ghtier_runtime_destroy(cache), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_runtime_destroy(rt), GHTIER_SUCCESS);
}

TEST(CApiRuntime, AllocationFunctionsCheckTheirArguments) {
  ghtier_runtime_t* rt = offline();
  auto r = request(MiB);
  void* ptr = reinterpret_cast<void*>(0x1);
  EXPECT_STATUS(ghtier_memory_alloc_sync(rt, &r, nullptr, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_memory_alloc_sync(rt, nullptr, &ptr, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ptr, nullptr) << "the output is cleared on failure";
  r.bytes = 0;
  EXPECT_STATUS(ghtier_memory_alloc_sync(rt, &r, &ptr, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  r.bytes = SIZE_MAX;
  EXPECT_STATUS(ghtier_memory_alloc_sync(rt, &r, &ptr, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  r = request(MiB);
  ghtier_placement_t bad_out{};
  EXPECT_STATUS(ghtier_memory_alloc_sync(rt, &r, &ptr, &bad_out), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_memory_alloc_mode_sync(rt, GHTIER_MODE_DEVICE, 64, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_memory_alloc_mode_sync(rt, static_cast<ghtier_memory_mode_t>(4), 64, &ptr),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("mode = 4"), std::string::npos) << last_error();
  EXPECT_STATUS(ghtier_memory_alloc_mode_sync(rt, GHTIER_MODE_DEVICE, 0, &ptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_memory_alloc_mode_sync(rt, GHTIER_MODE_DEVICE, SIZE_MAX, &ptr), GHTIER_ERROR_INVALID_ARGUMENT);

  int local = 0;
  EXPECT_STATUS(ghtier_memory_free_sync(rt, nullptr), GHTIER_SUCCESS);  // like free(NULL)
  EXPECT_STATUS(ghtier_memory_free_sync(rt, nullptr), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_memory_free_sync(rt, &local), GHTIER_ERROR_NOT_FOUND);
  EXPECT_NE(last_error().find("not allocated by this runtime"), std::string::npos) << last_error();

  ghtier_allocation_info_t info{};
  info.struct_size = sizeof(info);
  EXPECT_STATUS(ghtier_memory_get_info(rt, nullptr, &info), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_memory_get_info(rt, &local, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  info.struct_size = 0;
  EXPECT_STATUS(ghtier_memory_get_info(rt, &local, &info), GHTIER_ERROR_INVALID_ARGUMENT);
  info.struct_size = sizeof(info);
  EXPECT_STATUS(ghtier_memory_get_info(rt, &local, &info), GHTIER_ERROR_NOT_FOUND);

  void* moved = reinterpret_cast<void*>(0x1);
  EXPECT_STATUS(ghtier_memory_relocate_sync(rt, &local, GHTIER_MODE_DEVICE, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_memory_relocate_sync(rt, nullptr, GHTIER_MODE_DEVICE, &moved), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(moved, nullptr);
  EXPECT_STATUS(ghtier_memory_relocate_sync(rt, &local, static_cast<ghtier_memory_mode_t>(-3), &moved),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_memory_relocate_sync(rt, &local, GHTIER_MODE_SYSTEM, &moved), GHTIER_ERROR_NOT_FOUND);
  EXPECT_STATUS(ghtier_runtime_destroy(rt), GHTIER_SUCCESS);
}

TEST(CApiRuntime, PointerStableFunctionsCheckTheirEnums) {
  ghtier_runtime_t* rt = offline();
  int local = 0;
  EXPECT_STATUS(ghtier_memory_prefetch(rt, &local, 4, static_cast<ghtier_location_t>(3), nullptr),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("location = 3"), std::string::npos) << last_error();
  EXPECT_STATUS(ghtier_memory_advise(rt, &local, 4, static_cast<ghtier_advice_t>(6), GHTIER_LOCATION_DEVICE),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("advice = 6"), std::string::npos) << last_error();
  EXPECT_STATUS(ghtier_memory_advise(rt, &local, 4, GHTIER_ADVICE_SET_ACCESSED_BY, static_cast<ghtier_location_t>(-1)),
                GHTIER_ERROR_INVALID_ARGUMENT);
  ghtier_residency_t residency{};
  EXPECT_STATUS(ghtier_memory_get_residency(rt, &local, 4, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_memory_get_residency(rt, &local, 4, &residency),
                GHTIER_ERROR_INVALID_ARGUMENT);  // struct_size 0
  EXPECT_STATUS(ghtier_runtime_destroy(rt), GHTIER_SUCCESS);
}

TEST(CApiRuntime, StatisticsAndBudgets) {
  ghtier_runtime_t* rt = offline();
  ghtier_statistics_t s{};
  s.struct_size = sizeof(s);
  EXPECT_STATUS(ghtier_runtime_get_statistics(rt, static_cast<ghtier_memory_mode_t>(9), &s),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_runtime_get_statistics(rt, GHTIER_MODE_MANAGED, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  for (ghtier_memory_mode_t m :
       {GHTIER_MODE_DEVICE, GHTIER_MODE_PINNED_HOST, GHTIER_MODE_MANAGED, GHTIER_MODE_SYSTEM}) {
    std::memset(&s, 0x77, sizeof(s));
    s.struct_size = sizeof(s);
    EXPECT_STATUS(ghtier_runtime_get_statistics(rt, m, &s), GHTIER_SUCCESS);
    EXPECT_EQ(s.current_bytes, 0u);
    EXPECT_EQ(s.peak_bytes, 0u);
    EXPECT_EQ(s.total_allocations, 0u);
    EXPECT_EQ(s.budget_bytes, GHTIER_UNLIMITED);
  }
  EXPECT_STATUS(ghtier_runtime_set_budget(rt, static_cast<ghtier_memory_mode_t>(4), 1), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_runtime_get_budget(rt, static_cast<ghtier_memory_mode_t>(4), nullptr, nullptr),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_runtime_set_budget(rt, GHTIER_MODE_PINNED_HOST, 0), GHTIER_SUCCESS);  // a real zero budget
  std::size_t budget = 1;
  std::size_t used = 1;
  EXPECT_STATUS(ghtier_runtime_get_budget(rt, GHTIER_MODE_PINNED_HOST, &budget, &used), GHTIER_SUCCESS);
  EXPECT_EQ(budget, 0u);
  EXPECT_EQ(used, 0u);
  EXPECT_STATUS(ghtier_runtime_get_budget(rt, GHTIER_MODE_PINNED_HOST, nullptr, nullptr), GHTIER_SUCCESS);
  s.struct_size = sizeof(s);
  EXPECT_STATUS(ghtier_runtime_get_statistics(rt, GHTIER_MODE_PINNED_HOST, &s), GHTIER_SUCCESS);
  EXPECT_EQ(s.budget_bytes, 0u);
  EXPECT_STATUS(ghtier_runtime_destroy(rt), GHTIER_SUCCESS);
  // Options: zero budgets mean "none"; set ones are kept.
  ghtier_runtime_options_t o{};
  o.struct_size = sizeof(o);
  o.assumed_profile = "x86-h100-hmm";
  o.device_budget_bytes = 3 * MiB;
  o.system_budget_bytes = GHTIER_UNLIMITED;
  EXPECT_STATUS(ghtier_runtime_create(&o, &rt), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_runtime_get_budget(rt, GHTIER_MODE_DEVICE, &budget, nullptr), GHTIER_SUCCESS);
  EXPECT_EQ(budget, 3 * MiB);
  EXPECT_STATUS(ghtier_runtime_get_budget(rt, GHTIER_MODE_MANAGED, &budget, nullptr), GHTIER_SUCCESS);
  EXPECT_EQ(budget, GHTIER_UNLIMITED);
  EXPECT_STATUS(ghtier_runtime_get_budget(rt, GHTIER_MODE_SYSTEM, &budget, nullptr), GHTIER_SUCCESS);
  EXPECT_EQ(budget, GHTIER_UNLIMITED);
  EXPECT_STATUS(ghtier_runtime_destroy(rt), GHTIER_SUCCESS);
}

TEST(CApiRuntime, OlderOptionsStructDefaultsTheMissingFields) {
  // A caller built against a header whose options ended after the budgets: the library's later fields
  // (assumed_profile, pinned_reserve_bytes) are not read. Observable offline only through a full-size call,
  // so compare: full struct with budgets -> offline gh200; size up to system_budget_bytes -> real device.
  ghtier_runtime_options_t o{};
  o.struct_size = offsetof(ghtier_runtime_options_t, assumed_profile);
  o.device_budget_bytes = 5 * MiB;
  o.assumed_profile = "gh200";
  ghtier_runtime_t* rt = nullptr;
  const ghtier_status_t status = ghtier_runtime_create(&o, &rt);
  if (ghtier::visible_device_count() == 0) {
    EXPECT_EQ(status, GHTIER_ERROR_NO_DEVICE) << "assumed_profile lies beyond struct_size: " << last_error();
  } else {
    ASSERT_EQ(status, GHTIER_SUCCESS) << last_error();
    ghtier_platform_info_t info{};
    info.struct_size = sizeof(info);
    EXPECT_STATUS(ghtier_runtime_get_platform_info(rt, &info), GHTIER_SUCCESS);
    EXPECT_EQ(info.offline, 0);
    std::size_t budget = 0;
    EXPECT_STATUS(ghtier_runtime_get_budget(rt, GHTIER_MODE_DEVICE, &budget, nullptr), GHTIER_SUCCESS);
    EXPECT_EQ(budget, 5 * MiB);
    EXPECT_STATUS(ghtier_runtime_destroy(rt), GHTIER_SUCCESS);
  }
}

TEST(CApiRuntime, LastErrorIsPerThreadAndClearedBySuccess) {
  ghtier_runtime_t* rt = offline();
  EXPECT_EQ(ghtier_runtime_set_budget(rt, static_cast<ghtier_memory_mode_t>(8), 1), GHTIER_ERROR_INVALID_ARGUMENT);
  const std::string mine = last_error();
  EXPECT_NE(mine, "");
  std::string theirs = "unset";
  std::thread([&] { theirs = ghtier_error_message(); }).join();
  EXPECT_EQ(theirs, "");
  EXPECT_EQ(last_error(), mine);
  EXPECT_EQ(ghtier_runtime_set_budget(rt, GHTIER_MODE_DEVICE, 1), GHTIER_SUCCESS);
  EXPECT_EQ(last_error(), "");
  EXPECT_EQ(ghtier_error_cuda(), 0);
  EXPECT_STATUS(ghtier_runtime_destroy(rt), GHTIER_SUCCESS);
}

TEST(CApiRuntime, HandlesUnder16Threads) {
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        ghtier_runtime_options_t o{};
        o.struct_size = sizeof(o);
        o.assumed_profile = i % 2 == 0 ? "gh200" : "x86-h100-pcie";
        ghtier_runtime_t* rt = nullptr;
        if (ghtier_runtime_create(&o, &rt) != GHTIER_SUCCESS) ++wrong;
        auto r = request(MiB);
        auto p = placement_out();
        if (ghtier_runtime_resolve(rt, &r, &p) != GHTIER_SUCCESS || p.mode != GHTIER_MODE_DEVICE) ++wrong;
        if (ghtier_runtime_destroy(rt) != GHTIER_SUCCESS) ++wrong;
        if (ghtier_runtime_resolve(rt, &r, &p) != GHTIER_ERROR_INVALID_ARGUMENT) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(CApiRuntime, RuntimeOfForTheOtherCApis) {
  EXPECT_GHTIER_ERROR((void)ghtier::capi::shared_runtime_of(nullptr), ghtier::ErrorCode::invalid_argument);
  ghtier_runtime_t* rt = offline("x86-h100-hmm");
  std::shared_ptr<ghtier::Runtime> kept = ghtier::capi::shared_runtime_of(rt);
  EXPECT_TRUE(kept->offline());
  EXPECT_EQ(kept->platform().platform_class, ghtier::PlatformClass::hmm_pcie);
  EXPECT_STATUS(ghtier_runtime_destroy(rt), GHTIER_SUCCESS);
  EXPECT_GHTIER_ERROR((void)ghtier::capi::shared_runtime_of(rt), ghtier::ErrorCode::invalid_argument);
  EXPECT_TRUE(kept->offline()) << "a shared owner keeps the runtime alive past ghtier_runtime_destroy";
}

// Allocation through the C API without a GPU: a C++ Runtime over fake CPU resources on the PCIe profile
// (whose placements for these requests need no CUDA call), handed to C with make_handle.
TEST(CApiRuntime, AllocFreeDoubleFreeAndInteriorPointersOverFakeResources) {
  using ghtier::test::FakeResource;
  ghtier::RuntimeResources resources{std::make_shared<FakeResource>(ghtier::MemoryMode::device),
                                     std::make_shared<FakeResource>(ghtier::MemoryMode::pinned_host),
                                     std::make_shared<FakeResource>(ghtier::MemoryMode::managed),
                                     std::make_shared<FakeResource>(ghtier::MemoryMode::system)};
  auto runtime = std::make_shared<ghtier::Runtime>(ghtier::assume_platform("x86-h100-pcie"), resources);
  EXPECT_GHTIER_ERROR((void)ghtier::capi::make_handle(nullptr), ghtier::ErrorCode::invalid_argument);
  ghtier_runtime_t* rt = ghtier::capi::make_handle(runtime);
  EXPECT_STATUS(ghtier_runtime_set_budget(rt, GHTIER_MODE_DEVICE, 3 * MiB), GHTIER_SUCCESS);

  auto r = request(2 * MiB);
  r.tag = "first";
  auto p = placement_out();
  void* a = nullptr;
  void* b = nullptr;
  EXPECT_STATUS(ghtier_memory_alloc_sync(rt, &r, &a, &p), GHTIER_SUCCESS);
  EXPECT_EQ(p.mode, GHTIER_MODE_DEVICE);
  EXPECT_STATUS(ghtier_memory_alloc_sync(rt, &r, &b, &p), GHTIER_SUCCESS);
  EXPECT_EQ(p.mode, GHTIER_MODE_PINNED_HOST) << "past the 3 MiB device budget: spilled";
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::memset(b, 0x5c, 2 * MiB);  // pinned (here: fake) memory is the CPU's too

  ghtier_allocation_info_t info{};
  info.struct_size = sizeof(info);
  EXPECT_STATUS(ghtier_memory_get_info(rt, static_cast<char*>(a) + 12345, &info), GHTIER_SUCCESS);
  EXPECT_EQ(info.base, a);
  EXPECT_EQ(info.bytes, 2 * MiB);
  EXPECT_EQ(info.mode, GHTIER_MODE_DEVICE);
  EXPECT_EQ(std::string(info.tag), "first");

  ghtier_statistics_t s{};
  s.struct_size = sizeof(s);
  EXPECT_STATUS(ghtier_runtime_get_statistics(rt, GHTIER_MODE_PINNED_HOST, &s), GHTIER_SUCCESS);
  EXPECT_EQ(s.current_bytes, 2 * MiB);
  EXPECT_EQ(s.current_allocations, 1u);

  EXPECT_STATUS(ghtier_memory_free_sync(rt, static_cast<char*>(a) + 1), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("inside the allocation"), std::string::npos) << last_error();
  EXPECT_STATUS(ghtier_memory_free_sync(rt, a), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_memory_free_sync(rt, a), GHTIER_ERROR_NOT_FOUND);  // double free
  EXPECT_NE(last_error().find("already freed"), std::string::npos) << last_error();
  EXPECT_STATUS(ghtier_memory_free_sync(rt, a), GHTIER_ERROR_NOT_FOUND);
  EXPECT_STATUS(ghtier_memory_get_info(rt, a, &info), GHTIER_ERROR_NOT_FOUND);

  // A Buffer owned by C++ code on the same runtime is not the C API's to free.
  ghtier::Buffer owned = runtime->allocate_in(ghtier::MemoryMode::system, 4096);
  EXPECT_STATUS(ghtier_memory_free_sync(rt, owned.data()), GHTIER_ERROR_NOT_FOUND);
  EXPECT_NE(last_error().find("C++"), std::string::npos) << last_error();

  // Zero and absurd sizes, a mode outside the enum.
  void* c = reinterpret_cast<void*>(0x1);
  EXPECT_STATUS(ghtier_memory_alloc_mode_sync(rt, GHTIER_MODE_MANAGED, 0, &c), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(c, nullptr);
  EXPECT_STATUS(ghtier_memory_alloc_mode_sync(rt, GHTIER_MODE_MANAGED, std::size_t{1} << 60, &c),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_memory_alloc_mode_sync(rt, static_cast<ghtier_memory_mode_t>(42), 8, &c),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_memory_alloc_mode_sync(rt, GHTIER_MODE_MANAGED, 8, &c), GHTIER_SUCCESS);
  EXPECT_NE(c, nullptr);

  // Pointer-stable operations refuse what cannot move (checked before CUDA is asked).
  EXPECT_STATUS(ghtier_memory_prefetch(rt, b, MiB, GHTIER_LOCATION_DEVICE, nullptr), GHTIER_ERROR_UNSUPPORTED);
  EXPECT_STATUS(ghtier_memory_advise(rt, b, MiB, GHTIER_ADVICE_SET_READ_MOSTLY, GHTIER_LOCATION_NONE),
                GHTIER_ERROR_UNSUPPORTED);
  // Zero bytes is a valid no-op, as in ghtier_engine_prefetch (which returns a completed token); the location
  // is still checked.
  EXPECT_STATUS(ghtier_memory_prefetch(rt, c, 0, GHTIER_LOCATION_DEVICE, nullptr), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_memory_prefetch(rt, nullptr, 0, GHTIER_LOCATION_HOST, nullptr), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_memory_prefetch(rt, c, 0, GHTIER_LOCATION_NONE, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_memory_prefetch(rt, c, 9, GHTIER_LOCATION_DEVICE, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_memory_prefetch(rt, c, 8, GHTIER_LOCATION_NONE, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  ghtier_residency_t residency{};
  residency.struct_size = sizeof(residency);
  EXPECT_STATUS(ghtier_memory_get_residency(rt, b, 2 * MiB, &residency), GHTIER_SUCCESS);
  EXPECT_EQ(residency.where, GHTIER_RESIDENCY_HOST);
  EXPECT_EQ(residency.source, GHTIER_RESIDENCY_SOURCE_ALLOCATION_MODE);
  EXPECT_EQ(residency.approximate, 0);
  EXPECT_STATUS(ghtier_memory_get_residency(rt, b, 2 * MiB + 1, &residency), GHTIER_ERROR_INVALID_ARGUMENT);

  // Destroy with live allocations (b, c): they are freed; the C++ share keeps the Runtime itself.
  EXPECT_STATUS(ghtier_runtime_destroy(rt), GHTIER_SUCCESS);
  EXPECT_EQ(runtime->statistics(ghtier::MemoryMode::pinned_host).current_bytes, 0u);
  EXPECT_EQ(runtime->statistics(ghtier::MemoryMode::managed).current_bytes, 0u);
  EXPECT_EQ(runtime->statistics(ghtier::MemoryMode::system).current_allocations, 1u);  // the C++ Buffer
  for (const auto& fake : {resources.device, resources.pinned_host, resources.managed}) {
    EXPECT_EQ(static_cast<FakeResource&>(*fake).live_bytes(), 0u);
    EXPECT_EQ(static_cast<FakeResource&>(*fake).bad_frees(), 0u);
  }
}

// Found by tests/fuzz/c_api_fuzzer: a C caller may pass any int where an enum is declared; the library read it
// as the C++ enum (undefined behaviour past the enum's range, flagged by UBSan in the sanitized build). The
// helpers pass such ints as a C caller does, without reading them as the enum here.
#if defined(__clang__)
#define GHTIER_TEST_AS_C_CALLER __attribute__((no_sanitize("enum")))
#else
#define GHTIER_TEST_AS_C_CALLER
#endif
template <typename CEnum>
GHTIER_TEST_AS_C_CALLER CEnum as_c_enum(int value) {
  CEnum e;
  std::memcpy(&e, &value, sizeof e);
  return e;
}
GHTIER_TEST_AS_C_CALLER const char* status_name_of(int value) {
  return ghtier_status_name(as_c_enum<ghtier_status_t>(value));
}
GHTIER_TEST_AS_C_CALLER ghtier_status_t set_policy_to(ghtier_runtime_t* runtime, int value) {
  return ghtier_runtime_set_policy(runtime, as_c_enum<ghtier_policy_t>(value), 0);
}
GHTIER_TEST_AS_C_CALLER ghtier_status_t set_budget_of(ghtier_runtime_t* runtime, int mode) {
  return ghtier_runtime_set_budget(runtime, as_c_enum<ghtier_memory_mode_t>(mode), 1);
}

GHTIER_TEST_AS_C_CALLER ghtier_status_t layout_for_key_type(int key_type, uint64_t* capacity, uint64_t* bytes) {
  return ghtier_hash_table_get_layout(1000, as_c_enum<ghtier_column_type_t>(key_type), 0, 0.5, capacity, bytes);
}
GHTIER_TEST_AS_C_CALLER ghtier_status_t bitpacked_size_for_type(int type, uint64_t* blocks, uint64_t* words) {
  const std::int32_t values[4] = {1, 2, 3, 4};
  return ghtier_bitpacked_get_size(values, as_c_enum<ghtier_column_type_t>(type), 4, blocks, words);
}

TEST(CApiArgs, EnumArgumentsOutsideTheirEnumAreRefusedNotRead) {
  uint64_t a = 0;
  uint64_t b = 0;
  EXPECT_EQ(layout_for_key_type(1 << 20, &a, &b), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(bitpacked_size_for_type(-3, &a, &b), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(bitpacked_size_for_type(GHTIER_COLUMN_INT32, &a, &b), GHTIER_SUCCESS);
  EXPECT_STREQ(status_name_of(1884950708), "GHTIER_UNKNOWN_STATUS");
  EXPECT_STREQ(status_name_of(-1), "GHTIER_UNKNOWN_STATUS");
  EXPECT_STREQ(status_name_of(GHTIER_ERROR_IO), ghtier_status_name(GHTIER_ERROR_IO));
  ghtier_runtime_options_t options{};
  options.struct_size = sizeof(options);
  options.assumed_profile = "gh200";
  ghtier_runtime_t* runtime = nullptr;
  ASSERT_EQ(ghtier_runtime_create(&options, &runtime), GHTIER_SUCCESS);
  EXPECT_EQ(set_policy_to(runtime, 1884950708), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(set_budget_of(runtime, -7), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("mode"), std::string::npos) << ghtier_error_message();
  EXPECT_EQ(ghtier_runtime_destroy(runtime), GHTIER_SUCCESS);
}
