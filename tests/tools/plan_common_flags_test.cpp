// The flags every `ghtier plan WORKLOAD` shares (--profile, --link, --json, FLAG=VALUE, refusals that name
// the argument and the workload), checked alike for each workload, and the link a plan runs on.
#include <gtest/gtest.h>

#include <string>

#include "plan_command.hpp"
#include "plan_flags.hpp"
#include "plan_kv_cache.hpp"
#include "plan_test_support.hpp"
#include "test_support.hpp"

namespace ghtier::tools {
namespace {

using plan_test::parse;
using plan_test::usage_error;

// The options every workload has, read from whichever workload's options `command` holds.
struct CommonOptions {
  std::string profile;
  std::optional<std::string> link_file;
  bool json = false;
};

CommonOptions common_options(const Command& command) {
  if (const auto* o = std::get_if<PlanActivationsOptions>(&command)) return {o->profile, o->link_file, o->json};
  if (const auto* o = std::get_if<PlanWeightsOptions>(&command)) return {o->profile, o->link_file, o->json};
  if (const auto* o = std::get_if<PlanKvCacheOptions>(&command)) return {o->profile, o->link_file, o->json};
  ADD_FAILURE() << "not the options of a plan workload";
  return {};
}

class PlanCommonFlags : public ::testing::TestWithParam<std::string_view> {};

TEST_P(PlanCommonFlags, StoresProfileLinkAndJsonInBothSpellings) {
  const std::string_view workload = GetParam();
  const CommonOptions spaced =
      common_options(parse({"plan", workload, "--profile", "x86-h100-hmm", "--link", "saved.json", "--json"}));
  EXPECT_EQ(spaced.profile, "x86-h100-hmm");
  EXPECT_EQ(spaced.link_file, "saved.json");
  EXPECT_TRUE(spaced.json);
  const CommonOptions joined = common_options(parse({"plan", workload, "--profile=gh200", "--link=other.json"}));
  EXPECT_EQ(joined.profile, "gh200");
  EXPECT_EQ(joined.link_file, "other.json");
  EXPECT_FALSE(joined.json);
  EXPECT_FALSE(common_options(parse({"plan", workload})).link_file.has_value());
}

TEST_P(PlanCommonFlags, RefusesBadArgumentsNamingThemAndTheWorkload) {
  const std::string_view workload = GetParam();
  const std::string command = "'ghtier plan " + std::string(workload) + "'";
  const std::string extra = usage_error({"plan", workload, "extra"});
  EXPECT_NE(extra.find("'extra'"), std::string::npos) << extra;
  EXPECT_NE(extra.find(command), std::string::npos) << extra;
  const std::string unknown = usage_error({"plan", workload, "--frob", "1"});
  EXPECT_NE(unknown.find("'--frob'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find(command), std::string::npos) << unknown;
  EXPECT_NE(usage_error({"plan", workload, "--profile", "gh300"}).find("gh300"), std::string::npos);
  EXPECT_NE(usage_error({"plan", workload, "--profile", "gh300"}).find("--profile"), std::string::npos);
  EXPECT_NE(usage_error({"plan", workload, "--profile="}).find("empty"), std::string::npos);
  EXPECT_NE(usage_error({"plan", workload, "--link"}).find("--link needs a value"), std::string::npos);
  EXPECT_NE(usage_error({"plan", workload, "--link", "--json"}).find("--link needs a value"), std::string::npos);
  EXPECT_NE(usage_error({"plan", workload, "--link=a", "--link=b"}).find("--link given twice"), std::string::npos);
  EXPECT_NE(usage_error({"plan", workload, "--json", "--json"}).find("--json given twice"), std::string::npos);
  EXPECT_NE(usage_error({"plan", workload, "--json=yes"}).find("takes no value, got 'yes'"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(EveryWorkload, PlanCommonFlags, ::testing::Values("activations", "weights", "kv-cache"));

TEST(PlanLink, ComesFromTheProfileUnlessALinkFileIsGiven) {
  EXPECT_EQ(plan_link(std::nullopt, "gh200").source, "profile gh200-c2c");
  EXPECT_EQ(plan_link(std::nullopt, "x86-h100-pcie").source, "profile pcie-gen5");
  EXPECT_GHTIER_ERROR((void)plan_link(std::string("/nonexistent/ghtier-link.json"), "gh200"), ErrorCode::io_error);
  // Every workload's request follows the same rule.
  PlanActivationsOptions activations;
  activations.link_file = "/nonexistent/ghtier-link.json";
  EXPECT_GHTIER_ERROR((void)activation_plan_request(activations), ErrorCode::io_error);
  PlanWeightsOptions weights;
  weights.profile = "x86-h100-pcie";
  EXPECT_EQ(weight_plan_request(weights).link.source, "profile pcie-gen5");
  weights.link_file = "/nonexistent/ghtier-link.json";
  EXPECT_GHTIER_ERROR((void)weight_plan_request(weights), ErrorCode::io_error);
  PlanKvCacheOptions kv;
  kv.link_file = "/nonexistent/ghtier-link.json";
  EXPECT_GHTIER_ERROR((void)kv_resume_requests(kv), ErrorCode::io_error);
}

}  // namespace
}  // namespace ghtier::tools
