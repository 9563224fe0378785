// `ghtier plan weights`: option parsing, the layer file, the budget, in-place reads per profile, the
// printed plan and the refusal of a budget below one slot.
#include <gtest/gtest.h>

#include <sstream>

#include "cli_options.hpp"
#include "exit_status.hpp"
#include "ghtier/error.hpp"
#include "plan_command.hpp"
#include "plan_test_support.hpp"

namespace ghtier::tools {
namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;

using plan_test::parse;
using plan_test::usage_error;

TEST(PlanWeightsCommand, ParsesFlagsAndDefaults) {
  const auto defaults = std::get<PlanWeightsOptions>(parse({"plan", "weights"}));
  EXPECT_EQ(defaults.profile, "gh200-c2c");
  EXPECT_EQ(defaults.layers, 32u);
  EXPECT_DOUBLE_EQ(defaults.budget_fraction, 0.5);
  EXPECT_EQ(defaults.in_place, InPlaceReads::automatic);
  const auto o = std::get<PlanWeightsOptions>(
      parse({"plan", "weights", "--profile", "x86-h100-pcie", "--layers=12", "--layer-mib", "100", "--compute-ms=2",
             "--budget-gib", "1.5", "--in-place", "off", "--max-slots", "4", "--json"}));
  EXPECT_EQ(o.profile, "x86-h100-pcie");
  EXPECT_EQ(o.layers, 12u);
  EXPECT_DOUBLE_EQ(o.layer_mib, 100);
  EXPECT_DOUBLE_EQ(o.compute_ms, 2);
  EXPECT_DOUBLE_EQ(*o.budget_gib, 1.5);
  EXPECT_EQ(o.in_place, InPlaceReads::off);
  EXPECT_EQ(o.max_slots, 4u);
  EXPECT_TRUE(o.json);
}

TEST(PlanWeightsCommand, RefusesBadArgumentsNamingThem) {
  EXPECT_NE(usage_error({"plan", "weights", "--layers", "2.5"}).find("--layers"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "weights", "--budget-fraction", "1.5"}).find("--budget-fraction"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "weights", "--in-place", "maybe"}).find("--in-place"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "weights", "--budget-fraction", "0.2", "--budget-gib", "3"}).find("both"),
            std::string::npos);
  EXPECT_NE(usage_error({"plan", "weights", "--layer-file", "f", "--layers", "3"}).find("--layer-file"),
            std::string::npos);
  EXPECT_NE(usage_error({"plan", "weights", "--frobnicate", "1"}).find("--frobnicate"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "weights", "--profile", "nope"}).find("--profile"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "nothing"}).find("weights"), std::string::npos);
}

TEST(PlanWeightsCommand, LayerFileParsesAndNamesABadLine) {
  const auto layers = parse_weight_layers("# weight_mib compute_ms\n100 2\n\n50 0.5  # small\n");
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].weight_bytes, 100 * MiB);
  EXPECT_DOUBLE_EQ(layers[1].compute_seconds, 0.5e-3);
  try {
    (void)parse_weight_layers("100 2\n100\n");
    ADD_FAILURE() << "a line of one number was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)parse_weight_layers("# only a comment\n"), Error);
  EXPECT_THROW((void)parse_weight_layers("100 -1\n"), Error);
}

TEST(PlanWeightsCommand, InPlaceReadsFollowTheProfileAndTheBudgetAddsTwoSlots) {
  PlanWeightsOptions options;
  options.layers = 10;
  options.layer_mib = 100;
  options.budget_fraction = 0.3;
  const WeightPlanRequest gh200 = weight_plan_request(options);
  EXPECT_TRUE(gh200.allow_in_place);
  EXPECT_EQ(gh200.device_budget_bytes, 300 * MiB + 200 * MiB);
  options.profile = "x86-h100-pcie";
  EXPECT_FALSE(weight_plan_request(options).allow_in_place);
  options.in_place = InPlaceReads::on;
  EXPECT_TRUE(weight_plan_request(options).allow_in_place);
}

TEST(PlanWeightsCommand, PrintsThePlanAndRefusesATooSmallBudget) {
  PlanWeightsOptions options;
  options.profile = "x86-h100-pcie";
  std::ostringstream out, err;
  EXPECT_EQ(run_plan_weights(options, out, err), exit_ok);
  EXPECT_NE(out.str().find("Weight streaming plan: 32 layers"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("this plan"), std::string::npos) << out.str();
  options.json = true;
  std::ostringstream json;
  EXPECT_EQ(run_plan_weights(options, json, err), exit_ok);
  EXPECT_EQ(json.str().front(), '{');
  options.budget_gib = 0.1;  // below one 416 MiB layer
  std::ostringstream refused;
  EXPECT_THROW((void)run_plan_weights(options, refused, err), Error);
}

}  // namespace
}  // namespace ghtier::tools
