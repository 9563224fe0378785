// The KV resume planner: the block shape's arithmetic, Llama-3-8B's reload against the measured copy on the
// H200 machine, the decision on both sides of the break-even point (found by bisection, independent of the
// planner's formula), partial prefixes, the file tier, properties on random requests, and argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ghtier/platform/platform.hpp"
#include "ghtier/workloads/kv_cache_plan.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

LinkModel pcie_link(double h2d_gbps = 55.0, double latency_us = 0) {
  LinkModel link;
  link.h2d_gbps = h2d_gbps;
  link.d2h_gbps = h2d_gbps;
  link.latency_us = latency_us;
  return link;
}

KvResumeRequest llama_request(std::size_t tokens) {
  KvResumeRequest r;
  r.shape = llama3_8b_kv_shape();
  r.context_tokens = tokens;
  r.cached_tokens = tokens;
  r.tier = KvTier::host;
  r.link = pcie_link();
  // Measured on the H200 machine (2026-12-03): a 8192-token prefill of Llama-3-8B shapes took 250.0 ms.
  r.prefill_tokens_per_second = 8192 / 0.250;
  return r;
}

TEST(KvBlockShape, ArithmeticOfLlama3_8B) {
  const KvBlockShape s = llama3_8b_kv_shape();
  EXPECT_EQ(s.bytes_per_token(), 128u * 1024);   // 2 x 32 x 8 x 128 x 2
  EXPECT_EQ(s.block_bytes(), 2u * 1024 * 1024);  // 16 tokens
  EXPECT_EQ(s.layer_block_bytes(), 64u * 1024);  // one layer of one block
  EXPECT_EQ(s.layer_block_bytes() * s.layers, s.block_bytes());
  EXPECT_EQ(s.blocks_for(0), 0u);
  EXPECT_EQ(s.blocks_for(1), 1u);
  EXPECT_EQ(s.blocks_for(16), 1u);
  EXPECT_EQ(s.blocks_for(17), 2u);
  EXPECT_NO_THROW(s.validate());
}

TEST(KvBlockShape, RefusesZeroAndHugeShapes) {
  KvBlockShape s = llama3_8b_kv_shape();
  s.kv_heads = 0;
  EXPECT_GHTIER_ERROR(s.validate(), ErrorCode::invalid_argument);
  s = llama3_8b_kv_shape();
  s.head_dim = std::size_t{1} << 40;  // would overflow a naive product check
  EXPECT_GHTIER_ERROR(s.validate(), ErrorCode::invalid_argument);
  s = llama3_8b_kv_shape();
  s.tokens_per_block = 4096;  // 512 MiB: allowed
  EXPECT_NO_THROW(s.validate());
  s.tokens_per_block = 8192 + 1;  // over 1 GiB
  EXPECT_GHTIER_ERROR(s.validate(), ErrorCode::invalid_argument);
}

TEST(KvResumePlanner, Llama3_8BReloadMatchesTheMeasuredCopy) {
  // Measured on the H200 machine: 8192 tokens (1 GiB of KV) reload in one pinned copy 19.5 ms, prefill 250 ms.
  const KvResumePlan p = plan_kv_resume(llama_request(8192));
  EXPECT_EQ(p.action, KvResumeAction::reload);
  EXPECT_EQ(p.reload_bytes, std::size_t{1} << 30);
  EXPECT_NEAR(p.reload_seconds, 0.0195, 0.001);
  EXPECT_NEAR(p.recompute_seconds, 0.250, 1e-9);
  EXPECT_NEAR(p.speedup, 12.8, 0.5);
  EXPECT_EQ(p.prefill_tokens, 0u);
  EXPECT_DOUBLE_EQ(p.predicted_seconds, p.reload_seconds);
  EXPECT_NEAR(p.first_layer_seconds * 32, p.reload_seconds, 1e-9);  // latency 0: one 32nd of the bytes
}

TEST(KvResumePlanner, PerBlockCopiesPayTheLatencyOfEveryCopy) {
  KvResumeRequest r = llama_request(2048);
  r.link = pcie_link(55.0, 10.0);
  const KvResumePlan p = plan_kv_resume(r);
  const double copies = 2048 / 16 * 32;  // 128 blocks x 32 layers
  EXPECT_NEAR(p.per_block_copy_seconds - (p.reload_seconds - 10e-6), copies * 10e-6, 1e-9);
}

// Break-even prefill rate by bisection on the decision alone: below it reload wins, above it recompute.
TEST(KvResumePlanner, DecisionFlipsAtTheBreakEvenRate) {
  KvResumeRequest r = llama_request(4096);
  r.link = pcie_link(20.0, 5.0);
  double lo = 1.0, hi = 1e12;  // at lo reload wins, at hi recompute wins
  r.prefill_tokens_per_second = lo;
  ASSERT_EQ(plan_kv_resume(r).action, KvResumeAction::reload);
  r.prefill_tokens_per_second = hi;
  ASSERT_EQ(plan_kv_resume(r).action, KvResumeAction::recompute);
  for (int i = 0; i < 200; ++i) {
    const double mid = std::sqrt(lo * hi);
    r.prefill_tokens_per_second = mid;
    (plan_kv_resume(r).action == KvResumeAction::reload ? lo : hi) = mid;
  }
  // Independent: at break-even, 4096 tokens / rate = latency + bytes / bandwidth.
  const double copy = 5e-6 + static_cast<double>(4096 * 128 * 1024) / 20e9;
  EXPECT_NEAR(4096 / lo, copy, copy * 1e-6);
}

TEST(KvResumePlanner, PartialPrefixPrefillsTheTail) {
  KvResumeRequest r = llama_request(8192);
  r.cached_tokens = 6000;  // 375 blocks
  const KvResumePlan p = plan_kv_resume(r);
  EXPECT_EQ(p.action, KvResumeAction::reload);
  EXPECT_EQ(p.reload_bytes, 375u * 2 * 1024 * 1024);
  EXPECT_EQ(p.prefill_tokens, 8192u - 6000u);
  const double expected = static_cast<double>(p.reload_bytes) / 55e9 + (8192 - 6000) / r.prefill_tokens_per_second;
  EXPECT_NEAR(p.reload_seconds, expected, 1e-12);
}

TEST(KvResumePlanner, NothingCachedOrResident) {
  KvResumeRequest r = llama_request(2048);
  r.tier = KvTier::none;
  KvResumePlan p = plan_kv_resume(r);
  EXPECT_EQ(p.action, KvResumeAction::recompute);
  EXPECT_EQ(p.reload_bytes, 0u);
  EXPECT_EQ(p.prefill_tokens, 2048u);
  r.tier = KvTier::host;
  r.cached_tokens = 0;
  EXPECT_EQ(plan_kv_resume(r).action, KvResumeAction::recompute);
  r.tier = KvTier::device;
  r.cached_tokens = 2048;
  r.link = LinkModel{};  // a resident session needs no link
  p = plan_kv_resume(r);
  EXPECT_EQ(p.action, KvResumeAction::resident);
  EXPECT_EQ(p.predicted_seconds, 0.0);
  EXPECT_TRUE(std::isinf(p.speedup));
}

TEST(KvResumePlanner, FileTierAddsTheRead) {
  KvResumeRequest r = llama_request(8192);
  r.tier = KvTier::file;
  r.file_read_gbps = 5.0;
  const KvResumePlan p = plan_kv_resume(r);
  EXPECT_NEAR(p.reload_seconds, (1.0 / 5.0 + 1.0 / 55.0) * (std::size_t{1} << 30) / 1e9, 1e-9);
  EXPECT_EQ(p.action, KvResumeAction::reload);  // 233 ms < 250 ms
  r.file_read_gbps = 2.0;                       // 537 ms: recompute wins
  EXPECT_EQ(plan_kv_resume(r).action, KvResumeAction::recompute);
  r.file_read_gbps = 0;
  EXPECT_GHTIER_ERROR((void)plan_kv_resume(r), ErrorCode::invalid_argument);
}

TEST(KvResumePlanner, GH200ProfileReloadsFaster) {
  KvResumeRequest pcie = llama_request(32768);
  KvResumeRequest gh = pcie;
  gh.link = assume_platform("gh200").link;
  EXPECT_LT(plan_kv_resume(gh).reload_seconds * 5, plan_kv_resume(pcie).reload_seconds);
}

TEST(KvResumePlanner, PropertiesOnRandomRequests) {
  std::mt19937_64 rng = test::fresh_rng();
  std::uniform_int_distribution<std::size_t> tokens(1, 100000), small(1, 64);
  std::uniform_real_distribution<double> gbps(0.5, 500), rate(100, 1e6), latency(0, 50);
  for (int i = 0; i < 2000; ++i) {
    KvResumeRequest r;
    r.shape = {small(rng), small(rng), small(rng), small(rng) * 8, small(rng) % 4 + 1};
    r.context_tokens = tokens(rng);
    r.cached_tokens = std::uniform_int_distribution<std::size_t>(0, r.context_tokens)(rng);
    r.tier = i % 3 == 0 ? KvTier::file : KvTier::host;
    r.link = pcie_link(gbps(rng), latency(rng));
    r.file_read_gbps = gbps(rng);
    r.prefill_tokens_per_second = rate(rng);
    const KvResumePlan p = plan_kv_resume(r);
    EXPECT_DOUBLE_EQ(p.predicted_seconds, std::min(p.reload_seconds, p.recompute_seconds)) << i;
    EXPECT_EQ(p.reload_bytes, r.shape.blocks_for(r.cached_tokens) * r.shape.block_bytes());
    EXPECT_LE(p.first_layer_seconds, p.reload_seconds + 1e-15);
    if (r.cached_tokens > 0) {
      EXPECT_GE(p.per_block_copy_seconds + 1e-15,
                p.reload_seconds - (r.context_tokens - r.cached_tokens) / r.prefill_tokens_per_second);
    }
    EXPECT_EQ(p.prefill_tokens,
              p.action == KvResumeAction::reload ? r.context_tokens - r.cached_tokens : r.context_tokens);
    // A faster link never turns a reload into a recompute.
    if (p.action == KvResumeAction::reload) {
      KvResumeRequest faster = r;
      faster.link.h2d_gbps *= 2;
      EXPECT_EQ(plan_kv_resume(faster).action, KvResumeAction::reload);
    }
  }
}

TEST(KvResumePlanner, RefusesBadRequests) {
  KvResumeRequest r = llama_request(2048);
  r.cached_tokens = 4096;
  EXPECT_GHTIER_ERROR((void)plan_kv_resume(r), ErrorCode::invalid_argument);
  r = llama_request(0);
  EXPECT_GHTIER_ERROR((void)plan_kv_resume(r), ErrorCode::invalid_argument);
  r = llama_request(2048);
  r.prefill_tokens_per_second = 0;
  EXPECT_GHTIER_ERROR((void)plan_kv_resume(r), ErrorCode::invalid_argument);
  r.prefill_tokens_per_second = std::nan("");
  EXPECT_GHTIER_ERROR((void)plan_kv_resume(r), ErrorCode::invalid_argument);
  r = llama_request(2048);
  r.link.h2d_gbps = -1;
  EXPECT_GHTIER_ERROR((void)plan_kv_resume(r), ErrorCode::invalid_argument);
  r = llama_request(2048);
  r.shape.layers = 0;
  EXPECT_GHTIER_ERROR((void)plan_kv_resume(r), ErrorCode::invalid_argument);
}

TEST(KvResumePlanner, ReportsNameEveryLengthAndAction) {
  std::vector<KvResumeRequest> requests{llama_request(2048), llama_request(32768)};
  std::vector<KvResumePlan> plans;
  for (const auto& r : requests) plans.push_back(plan_kv_resume(r));
  const std::string text = describe_kv_plans(requests, plans);
  EXPECT_NE(text.find("32768"), std::string::npos) << text;
  EXPECT_NE(text.find("reload"), std::string::npos) << text;
  const std::string json = kv_plans_to_json(requests, plans);
  EXPECT_NE(json.find("\"context_tokens\": 2048"), std::string::npos) << json;
  EXPECT_NE(json.find("\"action\": \"reload\""), std::string::npos) << json;
  plans.pop_back();
  EXPECT_GHTIER_ERROR((void)kv_plans_to_json(requests, plans), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace ghtier
