// The KV cache C API without a GPU: the planner on an offline runtime (Llama-3-8B's reload against the
// C++ planner, a given link), and every argument error named before any GPU is needed.
#include <gtest/gtest.h>

#include <string>

#include "ghtier/ghtier_workloads.h"
#include "ghtier/platform/platform.hpp"
#include "ghtier/workloads/kv_cache_plan.hpp"

namespace {

class KvCApi : public ::testing::Test {
 protected:
  void SetUp() override {
    ghtier_runtime_options_t options{};
    options.struct_size = sizeof(options);
    options.assumed_profile = "x86-h100-pcie";
    ASSERT_EQ(ghtier_runtime_create(&options, &runtime_), GHTIER_SUCCESS) << ghtier_error_message();
  }
  void TearDown() override { EXPECT_EQ(ghtier_runtime_destroy(runtime_), GHTIER_SUCCESS); }

  static ghtier_kv_resume_request_t request(uint64_t tokens) {
    ghtier_kv_resume_request_t r{};
    r.struct_size = sizeof(r);
    r.shape = {16, 32, 8, 128, 2};
    r.context_tokens = tokens;
    r.cached_tokens = tokens;
    r.tier = GHTIER_KV_TIER_HOST;
    r.prefill_tokens_per_second = 32768;
    return r;
  }

  ghtier_runtime_t* runtime_ = nullptr;
};

TEST_F(KvCApi, PlanMatchesTheCppPlannerOnTheRuntimesLink) {
  const ghtier_kv_resume_request_t r = request(8192);
  ghtier_kv_resume_plan_t plan{};
  plan.struct_size = sizeof(plan);
  ASSERT_EQ(ghtier_kv_plan_resume(runtime_, &r, &plan), GHTIER_SUCCESS) << ghtier_error_message();
  ghtier::KvResumeRequest cpp;
  cpp.shape = ghtier::llama3_8b_kv_shape();
  cpp.context_tokens = cpp.cached_tokens = 8192;
  cpp.link = ghtier::assume_platform("x86-h100-pcie").link;
  cpp.prefill_tokens_per_second = 32768;
  const ghtier::KvResumePlan expected = ghtier::plan_kv_resume(cpp);
  EXPECT_EQ(plan.action, GHTIER_KV_RELOAD);
  EXPECT_DOUBLE_EQ(plan.reload_seconds, expected.reload_seconds);
  EXPECT_EQ(plan.reload_bytes, uint64_t{1} << 30);
  // A given link replaces the runtime's.
  ghtier_kv_resume_request_t slow = r;
  slow.h2d_gbps = 1.0;
  ASSERT_EQ(ghtier_kv_plan_resume(runtime_, &slow, &plan), GHTIER_SUCCESS) << ghtier_error_message();
  EXPECT_EQ(plan.action, GHTIER_KV_RECOMPUTE);
}

TEST_F(KvCApi, ArgumentErrorsAreNamed) {
  ghtier_kv_resume_plan_t plan{};
  plan.struct_size = sizeof(plan);
  ghtier_kv_resume_request_t r = request(2048);
  r.cached_tokens = 4096;
  EXPECT_EQ(ghtier_kv_plan_resume(runtime_, &r, &plan), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("cached_tokens"), std::string::npos) << ghtier_error_message();
  r = request(2048);
  r.tier = 9;
  EXPECT_EQ(ghtier_kv_plan_resume(runtime_, &r, &plan), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("tier"), std::string::npos) << ghtier_error_message();
  EXPECT_EQ(ghtier_kv_plan_resume(runtime_, nullptr, &plan), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_kv_plan_resume(runtime_, &r, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);

  ghtier_kv_cache_options_t options{};
  options.struct_size = sizeof(options);
  options.shape = {16, 32, 8, 128, 2};
  options.device_blocks = 0;
  ghtier_kv_cache_t* cache = reinterpret_cast<ghtier_kv_cache_t*>(1);
  EXPECT_EQ(ghtier_kv_cache_create(runtime_, &options, &cache), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(cache, nullptr);
  EXPECT_NE(std::string(ghtier_error_message()).find("device_blocks"), std::string::npos) << ghtier_error_message();
  options.device_blocks = 4;
  EXPECT_EQ(ghtier_kv_cache_create(runtime_, &options, &cache), GHTIER_ERROR_UNSUPPORTED);  // offline runtime
  EXPECT_NE(std::string(ghtier_error_message()).find("offline"), std::string::npos) << ghtier_error_message();
  options.shape.kv_heads = 0;
  EXPECT_EQ(ghtier_kv_cache_create(runtime_, &options, &cache), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_kv_cache_create(runtime_, &options, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);

  // A handle that is not a live store is refused, never dereferenced.
  uint64_t session = 0;
  auto* bogus = reinterpret_cast<ghtier_kv_cache_t*>(0x1234);
  EXPECT_EQ(ghtier_kv_cache_session_create(bogus, 0, &session), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_kv_cache_suspend(bogus, 1, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_kv_cache_session_create(bogus, 0, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  size_t n = 0;
  EXPECT_EQ(ghtier_kv_cache_block_table(bogus, 1, nullptr, 3, &n), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("capacity"), std::string::npos) << ghtier_error_message();
  EXPECT_EQ(ghtier_kv_cache_destroy(nullptr), GHTIER_SUCCESS);
}

}  // namespace
