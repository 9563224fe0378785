// `ghtier plan kv-cache`: option parsing, refusals that name the argument, and the printed plans.
#include <gtest/gtest.h>

#include <sstream>

#include "cli_options.hpp"
#include "exit_status.hpp"
#include "plan_kv_cache.hpp"
#include "plan_test_support.hpp"

namespace ghtier::tools {
namespace {

using plan_test::parse;
using plan_test::usage_error;

TEST(PlanKvCache, ParsesFlagsAndDefaults) {
  const auto d = std::get<PlanKvCacheOptions>(parse({"plan", "kv-cache"}));
  EXPECT_EQ(d.profile, "pcie-gen5");
  EXPECT_EQ(d.tokens, (std::vector<std::size_t>{2048, 8192, 32768}));
  EXPECT_EQ(d.shape.block_bytes(), 2u << 20);
  EXPECT_EQ(d.tier, KvTier::host);
  const auto o = std::get<PlanKvCacheOptions>(parse({"plan",
                                                     "kv-cache",
                                                     "--profile=gh200",
                                                     "--tokens",
                                                     "100,200",
                                                     "--cached-percent",
                                                     "50",
                                                     "--tier",
                                                     "file",
                                                     "--file-gbps",
                                                     "6.5",
                                                     "--prefill-tokens-per-s",
                                                     "1000",
                                                     "--block-tokens",
                                                     "32",
                                                     "--layers",
                                                     "16",
                                                     "--kv-heads=4",
                                                     "--head-dim",
                                                     "64",
                                                     "--dtype-bytes",
                                                     "4",
                                                     "--json"}));
  EXPECT_EQ(o.profile, "gh200");
  EXPECT_EQ(o.tokens, (std::vector<std::size_t>{100, 200}));
  EXPECT_DOUBLE_EQ(o.cached_percent, 50);
  EXPECT_EQ(o.tier, KvTier::file);
  EXPECT_DOUBLE_EQ(o.file_gbps, 6.5);
  EXPECT_DOUBLE_EQ(o.prefill_tokens_per_second, 1000);
  EXPECT_EQ(o.shape.block_bytes(), 32u * 2 * 16 * 4 * 64 * 4);
  EXPECT_TRUE(o.json);
  const auto requests = kv_resume_requests(o);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].cached_tokens, 100u);
  EXPECT_EQ(requests[1].link.source, "profile gh200-c2c");
  EXPECT_TRUE(std::holds_alternative<HelpRequest>(parse({"plan", "kv-cache", "--help"})));
}

TEST(PlanKvCache, RefusesBadArgumentsNamingThem) {
  EXPECT_NE(usage_error({"plan", "kv-cache", "--tokens", "10,,20"}).find("''"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "kv-cache", "--tokens", "0"}).find("'0'"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "kv-cache", "--tokens", "2k"}).find("'2k'"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "kv-cache", "--cached-percent", "101"}).find("'101'"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "kv-cache", "--tier", "ssd"}).find("'ssd'"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "kv-cache", "--tier", "file"}).find("--file-gbps"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "kv-cache", "--file-gbps", "3"}).find("--tier file"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "kv-cache", "--prefill-tokens-per-s", "0"}).find("'0'"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "kv-cache", "--profile", "gh300"}).find("gh300"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "kv-cache", "--head-dim", "1099511627776", "--kv-heads", "1024"}).find("1 GiB"),
            std::string::npos);
  EXPECT_NE(usage_error({"plan", "kv-cache", "--json", "--json"}).find("twice"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "kv-cache", "--frob", "1"}).find("'--frob'"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "kv-cache", "extra"}).find("'extra'"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "kv-cache", "--layers"}).find("needs a value"), std::string::npos);
}

TEST(PlanKvCache, PrintsOneRowPerLengthAndJson) {
  PlanKvCacheOptions options;
  std::ostringstream text;
  EXPECT_EQ(run_plan_kv_cache(options, text, text), exit_ok);
  for (const char* length : {"2048", "8192", "32768"}) EXPECT_NE(text.str().find(length), std::string::npos);
  EXPECT_NE(text.str().find("reload"), std::string::npos) << text.str();
  options.json = true;
  std::ostringstream json;
  EXPECT_EQ(run_plan_kv_cache(options, json, json), exit_ok);
  EXPECT_NE(json.str().find("\"plans\""), std::string::npos) << json.str();
  EXPECT_NE(json.str().find("\"context_tokens\": 32768"), std::string::npos) << json.str();
  EXPECT_NE(usage_text("plan").find("kv-cache"), std::string::npos);
}

}  // namespace
}  // namespace ghtier::tools
