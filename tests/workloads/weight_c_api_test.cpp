// The weight streaming C API without a GPU: the planner through an offline runtime gives the C++ planner's
// plan; a budget below the minimum is OUT_OF_BUDGET naming it; every bad argument of the streamer is a status
// with a message (checked before the runtime is needed), and an offline runtime is UNSUPPORTED.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ghtier/ghtier_workloads.h"
#include "ghtier/platform/platform.hpp"
#include "ghtier/workloads/weight_plan.hpp"

namespace {

constexpr std::uint64_t MiB = std::uint64_t{1} << 20;

class WeightCApi : public ::testing::Test {
 protected:
  void SetUp() override {
    ghtier_runtime_options_t options{};
    options.struct_size = sizeof(options);
    options.assumed_profile = "x86-h100-pcie";
    ASSERT_EQ(ghtier_runtime_create(&options, &runtime_), GHTIER_SUCCESS) << ghtier_error_message();
    layers_.assign(12, ghtier_weight_layer_profile_t{416 * MiB, 2e-3});
  }
  void TearDown() override { EXPECT_EQ(ghtier_runtime_destroy(runtime_), GHTIER_SUCCESS); }

  ghtier_weight_plan_request_t request(std::size_t budget) const {
    ghtier_weight_plan_request_t r{};
    r.struct_size = sizeof(r);
    r.layers = layers_.data();
    r.num_layers = layers_.size();
    r.device_budget_bytes = budget;
    return r;
  }

  ghtier_runtime_t* runtime_ = nullptr;
  std::vector<ghtier_weight_layer_profile_t> layers_;
};

TEST_F(WeightCApi, PlanMatchesTheCppPlannerOnTheRuntimesLink) {
  const ghtier_weight_plan_request_t r = request(6 * 416 * MiB);
  std::vector<int32_t> placements(layers_.size(), -1);
  ghtier_weight_plan_result_t result{};
  result.struct_size = sizeof(result);
  ASSERT_EQ(ghtier_weight_plan(runtime_, &r, placements.data(), &result), GHTIER_SUCCESS) << ghtier_error_message();
  ghtier::WeightPlanRequest cpp{.layers = {}, .link = ghtier::assume_platform("x86-h100-pcie").link};
  for (const auto& l : layers_) cpp.layers.push_back({l.weight_bytes, l.compute_seconds});
  cpp.device_budget_bytes = r.device_budget_bytes;
  const ghtier::WeightPlan plan = ghtier::plan_weights(cpp);
  for (std::size_t i = 0; i < placements.size(); ++i)
    EXPECT_EQ(placements[i], static_cast<int32_t>(plan.placements[i]));
  EXPECT_EQ(result.ring_slots, plan.ring_slots);
  EXPECT_DOUBLE_EQ(result.step_seconds, plan.predicted.step_seconds);
  EXPECT_DOUBLE_EQ(result.bound_seconds, plan.predicted.bound_seconds);
  EXPECT_EQ(result.device_bytes, plan.predicted.device_bytes);
  EXPECT_LE(result.device_bytes, r.device_budget_bytes);
}

// hedge_compute (the field that was `reserved`): 1 gives the C++ planner's hedged plan, 0 its plain one, any
// other value a clear error.
TEST_F(WeightCApi, HedgeComputeReachesThePlannerAndRefusesOtherValues) {
  for (int32_t hedge : {0, 1}) {
    ghtier_weight_plan_request_t r = request(2 * 416 * MiB);
    r.hedge_compute = hedge;
    std::vector<int32_t> placements(layers_.size(), -1);
    ghtier_weight_plan_result_t result{};
    result.struct_size = sizeof(result);
    ASSERT_EQ(ghtier_weight_plan(runtime_, &r, placements.data(), &result), GHTIER_SUCCESS) << ghtier_error_message();
    ghtier::WeightPlanRequest cpp{.layers = {}, .link = ghtier::assume_platform("x86-h100-pcie").link};
    for (const auto& l : layers_) cpp.layers.push_back({l.weight_bytes, l.compute_seconds});
    cpp.device_budget_bytes = r.device_budget_bytes;
    cpp.hedge_compute = hedge == 1;
    const ghtier::WeightPlan plan = ghtier::plan_weights(cpp);
    EXPECT_EQ(result.ring_slots, plan.ring_slots) << "hedge " << hedge;
    for (std::size_t i = 0; i < placements.size(); ++i)
      EXPECT_EQ(placements[i], static_cast<int32_t>(plan.placements[i])) << "hedge " << hedge;
  }
  ghtier_weight_plan_request_t r = request(2 * 416 * MiB);
  r.hedge_compute = 2;
  std::vector<int32_t> placements(layers_.size(), -1);
  ghtier_weight_plan_result_t result{};
  result.struct_size = sizeof(result);
  EXPECT_EQ(ghtier_weight_plan(runtime_, &r, placements.data(), &result), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("request->hedge_compute = 2"), std::string::npos)
      << ghtier_error_message();
}

TEST_F(WeightCApi, RefusesABudgetBelowOneSlotNamingTheMinimum) {
  const ghtier_weight_plan_request_t r = request(416 * MiB - 1);
  std::vector<int32_t> placements(layers_.size());
  ghtier_weight_plan_result_t result{};
  result.struct_size = sizeof(result);
  EXPECT_EQ(ghtier_weight_plan(runtime_, &r, placements.data(), &result), GHTIER_ERROR_OUT_OF_BUDGET);
  EXPECT_NE(std::string(ghtier_error_message()).find(std::to_string(416 * MiB)), std::string::npos)
      << ghtier_error_message();
}

TEST_F(WeightCApi, BadArgumentsAreStatusesWithMessages) {
  std::vector<int32_t> placements(layers_.size());
  ghtier_weight_plan_result_t result{};
  result.struct_size = sizeof(result);
  ghtier_weight_plan_request_t r = request(GHTIER_UNLIMITED);
  EXPECT_EQ(ghtier_weight_plan(runtime_, nullptr, placements.data(), &result), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_weight_plan(runtime_, &r, nullptr, &result), GHTIER_ERROR_INVALID_ARGUMENT);
  r.num_layers = 0;
  EXPECT_EQ(ghtier_weight_plan(runtime_, &r, placements.data(), &result), GHTIER_ERROR_INVALID_ARGUMENT);

  const unsigned char host[64] = {};
  const ghtier_weight_tensor_t tensors[2] = {{host, 32}, {host + 32, 32}};
  const size_t counts[2] = {1, 1};
  ghtier_weight_streamer_options_t options{};
  options.struct_size = sizeof(options);
  options.device_budget_bytes = 1 << 20;
  ghtier_weight_streamer_t* streamer = reinterpret_cast<ghtier_weight_streamer_t*>(1);
  EXPECT_EQ(ghtier_weight_streamer_create(runtime_, nullptr, 2, counts, nullptr, 2, &options, &streamer),
            GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(streamer, nullptr);  // NULL on failure
  const size_t too_many[2] = {1, 2};
  EXPECT_EQ(ghtier_weight_streamer_create(runtime_, tensors, 2, too_many, nullptr, 2, &options, &streamer),
            GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("layer_tensor_counts"), std::string::npos);
  const size_t too_few[2] = {1, 0};
  EXPECT_EQ(ghtier_weight_streamer_create(runtime_, tensors, 2, too_few, nullptr, 2, &options, &streamer),
            GHTIER_ERROR_INVALID_ARGUMENT);
  options.in_place = 7;
  EXPECT_EQ(ghtier_weight_streamer_create(runtime_, tensors, 2, counts, nullptr, 2, &options, &streamer),
            GHTIER_ERROR_INVALID_ARGUMENT);
  options.in_place = 0;
  EXPECT_EQ(ghtier_weight_streamer_create(runtime_, tensors, 2, counts, nullptr, 2, &options, &streamer),
            GHTIER_ERROR_UNSUPPORTED);  // offline runtime
  EXPECT_EQ(ghtier_weight_streamer_destroy(nullptr), GHTIER_SUCCESS);
  void* ptrs[2];
  EXPECT_EQ(ghtier_weight_streamer_acquire(nullptr, 0, nullptr, ptrs, 2), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_weight_streamer_release(nullptr, 0, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_weight_streamer_set_budget(nullptr, 1), GHTIER_ERROR_INVALID_ARGUMENT);
  ghtier_weight_streamer_statistics_t stats{};
  stats.struct_size = sizeof(stats);
  EXPECT_EQ(ghtier_weight_streamer_get_statistics(nullptr, &stats), GHTIER_ERROR_INVALID_ARGUMENT);
}

}  // namespace
