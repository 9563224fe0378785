// The KV cache C API without a GPU: the planner on an offline runtime (Llama-3-8B's reload against the
// C++ planner, a given link), block hashes against the C++ ones, the file tier's directory errors (before
// the runtime's), older option structs, and every argument error named before any GPU is needed.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "ghtier/workloads/kv_block_hash.hpp"
#include "test_support.hpp"

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

bool message_has(std::string_view text) { return std::string(ghtier_error_message()).find(text) != std::string::npos; }

TEST_F(KvCApi, PrefixHashesEqualTheCppOnes) {
  std::mt19937_64 rng = ghtier::test::fresh_rng();
  std::vector<int32_t> ids(1 + rng() % 200);
  for (auto& v : ids) v = static_cast<int32_t>(rng() % 128000) - 5;  // negative ids too
  const size_t tpb = 1 + rng() % 16;
  const std::vector<uint64_t> expected = ghtier::kv_prefix_hashes(ids, tpb, "llama-3-8b@main");
  std::vector<uint64_t> got(expected.size() + 2, 0);
  size_t n = 0;
  ASSERT_EQ(ghtier_kv_prefix_hashes(ids.data(), ids.size(), tpb, "llama-3-8b@main", got.data(), got.size(), &n),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  ASSERT_EQ(n, expected.size());
  EXPECT_EQ(std::vector<uint64_t>(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(n)), expected);
  EXPECT_EQ(got[n], 0u);  // nothing past the count
  // A short capacity gets the first ones and the full count.
  std::vector<uint64_t> one(1);
  ASSERT_EQ(ghtier_kv_prefix_hashes(ids.data(), ids.size(), tpb, "llama-3-8b@main", one.data(), 1, &n), GHTIER_SUCCESS);
  EXPECT_EQ(n, expected.size());
  if (!expected.empty()) {
    EXPECT_EQ(one[0], expected[0]);
  }
  ASSERT_EQ(ghtier_kv_prefix_hashes(nullptr, 0, tpb, "", nullptr, 0, &n), GHTIER_SUCCESS);
  EXPECT_EQ(n, 0u);

  EXPECT_EQ(ghtier_kv_prefix_hashes(ids.data(), ids.size(), 0, "m", nullptr, 0, &n), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(message_has("tokens_per_block")) << ghtier_error_message();
  EXPECT_EQ(ghtier_kv_prefix_hashes(nullptr, 3, tpb, "m", nullptr, 0, &n), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(message_has("tokens is NULL")) << ghtier_error_message();
  EXPECT_EQ(ghtier_kv_prefix_hashes(ids.data(), ids.size(), tpb, nullptr, nullptr, 0, &n),
            GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(message_has("salt")) << ghtier_error_message();
  EXPECT_EQ(ghtier_kv_prefix_hashes(ids.data(), ids.size(), tpb, "m", nullptr, 2, &n), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(message_has("capacity")) << ghtier_error_message();
  EXPECT_EQ(ghtier_kv_prefix_hashes(ids.data(), ids.size(), tpb, "m", nullptr, 0, nullptr),
            GHTIER_ERROR_INVALID_ARGUMENT);
}

TEST_F(KvCApi, FileTierDirectoryErrorsComeBeforeTheNeedForAGpu) {
  ghtier_kv_cache_options_t options{};
  options.struct_size = sizeof(options);
  options.shape = {16, 32, 8, 128, 2};
  options.device_blocks = 4;
  options.host_blocks = 4;
  options.file_directory = "/proc";  // a directory where even root cannot create a file
  ghtier_kv_cache_t* cache = nullptr;
  EXPECT_EQ(ghtier_kv_cache_create(runtime_, &options, &cache), GHTIER_ERROR_IO);
  EXPECT_TRUE(message_has("/proc")) << ghtier_error_message();
  EXPECT_TRUE(message_has("read-only")) << ghtier_error_message();
  EXPECT_EQ(cache, nullptr);
  options.host_blocks = 0;
  EXPECT_EQ(ghtier_kv_cache_create(runtime_, &options, &cache), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(message_has("host_blocks")) << ghtier_error_message();
  // A usable directory gets as far as the offline runtime.
  const auto dir = std::filesystem::temp_directory_path() / ("ghtier-kv-capi-" + std::to_string(::getpid()));
  const std::string path = dir.string();
  options.host_blocks = 4;
  options.file_directory = path.c_str();
  EXPECT_EQ(ghtier_kv_cache_create(runtime_, &options, &cache), GHTIER_ERROR_UNSUPPORTED);
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  std::filesystem::remove_all(dir);
}

TEST_F(KvCApi, AnOptionsStructOfTheOlderHeaderIsAccepted) {
  ghtier_kv_cache_options_t options{};
  options.struct_size = offsetof(ghtier_kv_cache_options_t, file_directory);
  options.shape = {16, 32, 8, 128, 2};
  options.device_blocks = 4;
  options.file_directory = "/proc";  // beyond its struct_size: not read
  ghtier_kv_cache_t* cache = nullptr;
  EXPECT_EQ(ghtier_kv_cache_create(runtime_, &options, &cache), GHTIER_ERROR_UNSUPPORTED) << ghtier_error_message();
  options.struct_size = offsetof(ghtier_kv_cache_options_t, file_directory) - 8;  // cuts host_blocks
  EXPECT_EQ(ghtier_kv_cache_create(runtime_, &options, &cache), GHTIER_ERROR_INVALID_ARGUMENT);
}

TEST_F(KvCApi, PrefixFunctionsNameTheirArgumentErrors) {
  auto* bogus = reinterpret_cast<ghtier_kv_cache_t*>(0x1234);
  const int32_t ids[4] = {1, 2, 3, 4};
  size_t cached = 0, n = 0;
  uint64_t session = 0;
  int32_t tiers[2];
  EXPECT_EQ(ghtier_kv_cache_register_prefix(bogus, 1, nullptr, 4, "m"), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(message_has("tokens is NULL")) << ghtier_error_message();
  EXPECT_EQ(ghtier_kv_cache_register_prefix(bogus, 1, ids, 4, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(message_has("salt")) << ghtier_error_message();
  EXPECT_EQ(ghtier_kv_cache_register_prefix(bogus, 1, ids, 4, "m"), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(message_has("kv cache")) << ghtier_error_message();
  EXPECT_EQ(ghtier_kv_cache_lookup_prefix(bogus, ids, 4, "m", nullptr, tiers, 2, &n), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(message_has("cached_tokens")) << ghtier_error_message();
  EXPECT_EQ(ghtier_kv_cache_lookup_prefix(bogus, ids, 4, "m", &cached, nullptr, 2, &n), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(message_has("capacity")) << ghtier_error_message();
  EXPECT_EQ(ghtier_kv_cache_lookup_prefix(bogus, ids, 4, "m", &cached, tiers, 2, &n), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_kv_cache_create_from_prefix(bogus, ids, 4, "m", 0, nullptr, nullptr, &cached),
            GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(message_has("session")) << ghtier_error_message();
  EXPECT_EQ(ghtier_kv_cache_create_from_prefix(bogus, ids, 4, "m", 0, nullptr, &session, &cached),
            GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_kv_cache_set_expiry(bogus, 1, std::nan("")), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(message_has("INFINITY")) << ghtier_error_message();
  EXPECT_EQ(ghtier_kv_cache_set_expiry(bogus, 1, -1.0), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_kv_cache_set_expiry(bogus, 1, 1.0), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_kv_cache_session_tokens(bogus, 1, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_kv_cache_session_tokens(bogus, 1, &n), GHTIER_ERROR_INVALID_ARGUMENT);
}

}  // namespace
