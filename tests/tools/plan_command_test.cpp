// `ghtier plan activations`: option parsing, the layer file, budgets, and the printed plan.
#include <gtest/gtest.h>

#include <sstream>

#include "cli_options.hpp"
#include "exit_status.hpp"
#include "plan_command.hpp"
#include "plan_test_support.hpp"
#include "test_support.hpp"

namespace ghtier::tools {
namespace {

using plan_test::parse;
using plan_test::usage_error;

TEST(PlanCommand, ParsesFlagsAndDefaults) {
  const auto defaults = std::get<PlanActivationsOptions>(parse({"plan", "activations"}));
  EXPECT_EQ(defaults.profile, "gh200-c2c");
  EXPECT_EQ(defaults.layers, 16u);
  EXPECT_EQ(defaults.budget, ActivationBudgetKind::checkpoint);
  const auto o = std::get<PlanActivationsOptions>(
      parse({"plan", "activations", "--profile", "x86-h100-pcie", "--layers=32", "--forward-ms", "100", "--budget-gib",
             "8", "--host-budget-gib=64", "--json"}));
  EXPECT_EQ(o.profile, "x86-h100-pcie");
  EXPECT_EQ(o.layers, 32u);
  EXPECT_DOUBLE_EQ(o.forward_ms, 100);
  EXPECT_EQ(o.budget, ActivationBudgetKind::bytes);
  EXPECT_DOUBLE_EQ(o.budget_gib, 8);
  EXPECT_DOUBLE_EQ(*o.host_budget_gib, 64);
  EXPECT_TRUE(o.json);
  EXPECT_TRUE(std::holds_alternative<HelpRequest>(parse({"plan", "activations", "--help"})));
  EXPECT_EQ(std::get<HelpRequest>(parse({"help", "plan"})).topic, "plan");
}

TEST(PlanCommand, RefusesBadArgumentsNamingThem) {
  EXPECT_NE(usage_error({"plan"}).find("workload"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "kv"}).find("'kv'"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "activations", "--profile", "gh300"}).find("gh300"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "activations", "--layers", "2.5"}).find("'2.5'"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "activations", "--layers", "0"}).find("'0'"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "activations", "--forward-ms", "-3"}).find("'-3'"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "activations", "--budget", "lots"}).find("'lots'"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "activations", "--budget", "half", "--budget-gib", "3"}).find("one of them"),
            std::string::npos);
  EXPECT_NE(usage_error({"plan", "activations", "--layers", "3", "--layers", "4"}).find("twice"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "activations", "--layer-file", "f", "--layers", "4"}).find("--layer-file"),
            std::string::npos);
  EXPECT_NE(usage_error({"plan", "activations", "--frob", "1"}).find("'--frob'"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "activations", "--json=1"}).find("no value"), std::string::npos);
  EXPECT_NE(usage_error({"plan", "activations", "--layers"}).find("needs a value"), std::string::npos);
}

TEST(PlanCommand, LayerFileParsesAndNamesABadLine) {
  const auto layers = parse_layer_profile("# forward backward activations input\n1.5 3 100 8\n\n2 4 200 16 # top\n");
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_DOUBLE_EQ(layers[0].forward_seconds, 1.5e-3);
  EXPECT_DOUBLE_EQ(layers[1].backward_seconds, 4e-3);
  EXPECT_EQ(layers[1].activation_bytes, 200u << 20);
  EXPECT_EQ(layers[0].input_bytes, 8u << 20);
  try {
    (void)parse_layer_profile("1 2 3 4\n1 2 x 4\n");
    ADD_FAILURE() << "a malformed line was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  EXPECT_GHTIER_ERROR((void)parse_layer_profile("1 2 3\n"), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)parse_layer_profile("1 2 3 4 5\n"), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)parse_layer_profile("1 2 -3 4\n"), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)parse_layer_profile("# nothing\n"), ErrorCode::invalid_argument);
}

TEST(PlanCommand, BudgetsResolveAgainstTheStepModel) {
  PlanActivationsOptions options;
  options.budget = ActivationBudgetKind::checkpoint;
  const ActivationPlanRequest checkpoint = activation_plan_request(options);
  ASSERT_EQ(checkpoint.layers.size(), 16u);
  // Checkpointing's peak: 15 inputs kept and the top layer's activations at work.
  EXPECT_EQ(checkpoint.device_budget_bytes,
            15 * checkpoint.layers[0].input_bytes + checkpoint.layers[0].activation_bytes);
  options.budget = ActivationBudgetKind::half_keep;
  EXPECT_EQ(activation_plan_request(options).device_budget_bytes, 8 * checkpoint.layers[0].activation_bytes);
  options.budget = ActivationBudgetKind::bytes;
  options.budget_gib = 3;
  EXPECT_EQ(activation_plan_request(options).device_budget_bytes, std::size_t{3} << 30);
  options.layer_file = "/nonexistent/ghtier-layers.txt";
  EXPECT_GHTIER_ERROR((void)activation_plan_request(options), ErrorCode::io_error);
}

TEST(PlanCommand, PrintsThePlanWithItsPredictedStep) {
  PlanActivationsOptions options;
  std::ostringstream out, err;
  EXPECT_EQ(run_plan_activations(options, out, err), exit_ok);
  EXPECT_NE(out.str().find("offload"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("this plan"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("checkpoint all"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("profile gh200-c2c"), std::string::npos) << out.str();
  options.json = true;
  std::ostringstream json;
  EXPECT_EQ(run_plan_activations(options, json, err), exit_ok);
  EXPECT_EQ(json.str().front(), '{');
  EXPECT_NE(json.str().find("\"step_seconds\""), std::string::npos);
}

}  // namespace
}  // namespace ghtier::tools
