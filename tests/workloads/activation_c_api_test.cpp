// The activation offload C API without a GPU: the planner through an offline runtime gives the C++ planner's
// plan; versioned structs; every bad argument a status with a message, never a crash.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "ghtier/ghtier_workloads.h"
#include "ghtier/platform/platform.hpp"
#include "ghtier/workloads/activation_plan.hpp"

namespace {

constexpr std::uint64_t MiB = std::uint64_t{1} << 20;

class ActivationCApi : public ::testing::Test {
 protected:
  void SetUp() override {
    ghtier_runtime_options_t options{};
    options.struct_size = sizeof(options);
    options.assumed_profile = "x86-h100-pcie";
    ASSERT_EQ(ghtier_runtime_create(&options, &runtime_), GHTIER_SUCCESS) << ghtier_error_message();
    layers_.assign(8, ghtier_activation_layer_profile_t{0.006, 0.011, 1400 * MiB, 64 * MiB});
  }
  void TearDown() override { EXPECT_EQ(ghtier_runtime_destroy(runtime_), GHTIER_SUCCESS); }

  ghtier_activation_plan_request_t request() const {
    ghtier_activation_plan_request_t r{};
    r.struct_size = sizeof(r);
    r.layers = layers_.data();
    r.num_layers = layers_.size();
    r.device_budget_bytes = 4000 * MiB;
    return r;
  }

  ghtier_runtime_t* runtime_ = nullptr;
  std::vector<ghtier_activation_layer_profile_t> layers_;
};

TEST_F(ActivationCApi, PlanMatchesTheCppPlannerOnTheRuntimesLink) {
  const ghtier_activation_plan_request_t r = request();
  std::vector<int32_t> actions(layers_.size(), -1);
  ghtier_activation_plan_result_t result{};
  result.struct_size = sizeof(result);
  ASSERT_EQ(ghtier_activation_plan(runtime_, &r, actions.data(), &result), GHTIER_SUCCESS) << ghtier_error_message();

  ghtier::ActivationPlanRequest cpp{.layers = {}, .link = ghtier::assume_platform("x86-h100-pcie").link};
  for (const auto& l : layers_)
    cpp.layers.push_back({l.forward_seconds, l.backward_seconds, l.activation_bytes, l.input_bytes});
  cpp.device_budget_bytes = r.device_budget_bytes;
  const ghtier::ActivationPlan plan = ghtier::plan_activations(cpp);
  for (std::size_t i = 0; i < actions.size(); ++i) EXPECT_EQ(actions[i], static_cast<int32_t>(plan.actions[i])) << i;
  EXPECT_EQ(result.prefetch_lookahead, plan.prefetch_lookahead);
  EXPECT_EQ(result.fits_budget, 1);
  EXPECT_DOUBLE_EQ(result.step_seconds, plan.predicted.step_seconds);
  EXPECT_EQ(result.peak_device_bytes, plan.predicted.peak_device_bytes);
  EXPECT_LE(result.peak_device_bytes, r.device_budget_bytes);
  EXPECT_DOUBLE_EQ(result.keep_all_step_seconds, plan.keep_all.step_seconds);
  EXPECT_EQ(result.recompute_all_peak_device_bytes, plan.recompute_all.peak_device_bytes);
}

TEST_F(ActivationCApi, AGivenLinkOverridesTheRuntimesAndAnOlderResultStructIsFilledAsFarAsItReaches) {
  ghtier_activation_plan_request_t r = request();
  r.h2d_gbps = 1e9;
  r.d2h_gbps = 1e9;  // an infinite link: nothing is recomputed
  std::vector<int32_t> actions(layers_.size(), -1);
  ghtier_activation_plan_result_t result{};
  result.struct_size = 48;  // an older header: up to bound_seconds
  result.keep_all_step_seconds = -1;
  ASSERT_EQ(ghtier_activation_plan(runtime_, &r, actions.data(), &result), GHTIER_SUCCESS) << ghtier_error_message();
  EXPECT_EQ(result.struct_size, 48u);
  EXPECT_EQ(result.keep_all_step_seconds, -1) << "a field past struct_size was written";
  for (int32_t a : actions) EXPECT_NE(a, GHTIER_LAYER_RECOMPUTE);
}

TEST_F(ActivationCApi, FixedActionsAreKeptAndGetTheCppPlannersLookahead) {
  ghtier_activation_plan_request_t r = request();
  r.device_budget_bytes = 0;  // unlimited: the auto plan would keep layers; fixed, every one is offloaded
  const std::vector<int32_t> fixed(layers_.size(), GHTIER_LAYER_OFFLOAD);
  r.fixed_actions = fixed.data();
  std::vector<int32_t> actions(layers_.size(), -1);
  ghtier_activation_plan_result_t result{};
  result.struct_size = sizeof(result);
  ASSERT_EQ(ghtier_activation_plan(runtime_, &r, actions.data(), &result), GHTIER_SUCCESS) << ghtier_error_message();
  EXPECT_EQ(actions, fixed);

  ghtier::ActivationPlanRequest cpp{.layers = {}, .link = ghtier::assume_platform("x86-h100-pcie").link};
  for (const auto& l : layers_)
    cpp.layers.push_back({l.forward_seconds, l.backward_seconds, l.activation_bytes, l.input_bytes});
  cpp.fixed_actions.assign(layers_.size(), ghtier::LayerAction::offload);
  const ghtier::ActivationPlan plan = ghtier::plan_activations(cpp);
  EXPECT_EQ(result.prefetch_lookahead, plan.prefetch_lookahead);
  EXPECT_DOUBLE_EQ(result.step_seconds, plan.predicted.step_seconds);
  EXPECT_EQ(result.offloaded_bytes, 8 * 1400 * MiB);

  // A struct_size that ends before fixed_actions (an older header) reads it as NULL: the planner chooses.
  r.struct_size = offsetof(ghtier_activation_plan_request_t, fixed_actions);
  ASSERT_EQ(ghtier_activation_plan(runtime_, &r, actions.data(), &result), GHTIER_SUCCESS) << ghtier_error_message();
  EXPECT_NE(actions, fixed) << "an older request struct's caller got the fixed actions of bytes it never passed";
}

TEST_F(ActivationCApi, FixedActionsOutsideTheEnumAreRefusedNamingTheLayer) {
  ghtier_activation_plan_request_t r = request();
  std::vector<int32_t> fixed(layers_.size(), GHTIER_LAYER_KEEP);
  fixed[6] = 7;
  r.fixed_actions = fixed.data();
  std::vector<int32_t> actions(layers_.size(), -1);
  ghtier_activation_plan_result_t result{};
  result.struct_size = sizeof(result);
  EXPECT_EQ(ghtier_activation_plan(runtime_, &r, actions.data(), &result), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("fixed_actions[6] is 7"), std::string::npos)
      << ghtier_error_message();
  fixed[6] = -1;
  EXPECT_EQ(ghtier_activation_plan(runtime_, &r, actions.data(), &result), GHTIER_ERROR_INVALID_ARGUMENT);
}

TEST_F(ActivationCApi, BadArgumentsAreStatusesWithMessages) {
  std::vector<int32_t> actions(layers_.size());
  ghtier_activation_plan_result_t result{};
  result.struct_size = sizeof(result);
  ghtier_activation_plan_request_t r = request();
  EXPECT_EQ(ghtier_activation_plan(runtime_, nullptr, actions.data(), &result), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_activation_plan(runtime_, &r, nullptr, &result), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("actions"), std::string::npos) << ghtier_error_message();
  EXPECT_EQ(ghtier_activation_plan(runtime_, &r, actions.data(), nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  r.struct_size = 12;
  EXPECT_EQ(ghtier_activation_plan(runtime_, &r, actions.data(), &result), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("struct_size"), std::string::npos);
  r = request();
  r.num_layers = 0;
  EXPECT_EQ(ghtier_activation_plan(runtime_, &r, actions.data(), &result), GHTIER_ERROR_INVALID_ARGUMENT);
  r = request();
  layers_[5].backward_seconds = std::nan("");
  EXPECT_EQ(ghtier_activation_plan(runtime_, &r, actions.data(), &result), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("layer 5"), std::string::npos) << ghtier_error_message();
  layers_[5].backward_seconds = 0.01;
  EXPECT_EQ(ghtier_activation_plan(nullptr, &r, actions.data(), &result), GHTIER_ERROR_INVALID_ARGUMENT)
      << "no runtime and no link given";

  ghtier_activation_offload_options_t options{};
  options.struct_size = sizeof(options);
  ghtier_activation_offloader_t* offloader = reinterpret_cast<ghtier_activation_offloader_t*>(0x1);
  EXPECT_EQ(ghtier_activation_offloader_create(runtime_, &options, &offloader), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(offloader, nullptr);
  EXPECT_NE(std::string(ghtier_error_message()).find("host_arena_bytes"), std::string::npos);
  options.host_arena_bytes = 64 * MiB;
  EXPECT_EQ(ghtier_activation_offloader_create(runtime_, &options, &offloader), GHTIER_ERROR_UNSUPPORTED)
      << "an offline runtime has no GPU";
  EXPECT_NE(std::string(ghtier_error_message()).find("offline"), std::string::npos);
  EXPECT_EQ(ghtier_activation_offloader_create(runtime_, &options, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);

  // Calls on a handle that is not an offloader (the runtime's id, a made-up one) are refused.
  auto* not_offloader = reinterpret_cast<ghtier_activation_offloader_t*>(runtime_);
  std::uint64_t handle = 0;
  int released = 0;
  void* device = nullptr;
  EXPECT_EQ(ghtier_activation_offloader_begin_layer(not_offloader, 1), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_activation_offloader_save(not_offloader, &handle, 16, nullptr, &handle),
            GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_activation_offloader_save(nullptr, nullptr, 16, nullptr, &handle), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("ptr"), std::string::npos);
  EXPECT_EQ(ghtier_activation_offloader_device_released(not_offloader, 1, &released), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_activation_offloader_restore(not_offloader, 1, nullptr, &device), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_activation_offloader_release(not_offloader, 1), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_activation_offloader_prefetch_layer(not_offloader, 1, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_activation_offloader_destroy(not_offloader), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_activation_offloader_destroy(nullptr), GHTIER_SUCCESS);
}

}  // namespace
