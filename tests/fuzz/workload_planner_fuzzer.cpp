// The workload planners (activation offload, weight streaming, KV reload-vs-recompute) on any request:
// each returns a plan or refuses with a ghtier::Error. A plan's prediction is what the planner's own
// simulation says for its choices, its numbers are finite, and it keeps the budget it claims to keep.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_check.hpp"
#include "ghtier/platform/platform.hpp"
#include "ghtier/workloads/activation_plan.hpp"
#include "ghtier/workloads/kv_cache_plan.hpp"
#include "ghtier/workloads/weight_plan.hpp"

namespace {

using namespace ghtier;

double any_seconds(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 7)) {
    case 0: return 0;
    case 1: return -in.ConsumeFloatingPointInRange(0.0, 1.0);
    case 2: return std::numeric_limits<double>::quiet_NaN();
    case 3: return std::numeric_limits<double>::infinity();
    // Large but bounded: times near DBL_MAX add up to infinity, which no planner is asked to survive.
    case 4: return in.ConsumeFloatingPointInRange(0.0, 1e9);
    default: return in.ConsumeFloatingPointInRange(1e-6, 1.0);
  }
}

std::size_t any_bytes(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 4)) {
    case 0: return 0;
    case 1: return in.ConsumeIntegral<std::size_t>();
    case 2: return std::size_t{1} << in.ConsumeIntegralInRange(0, 63);
    default: return in.ConsumeIntegralInRange<std::size_t>(1, std::size_t{1} << 32);
  }
}

LinkModel any_link(FuzzedDataProvider& in) {
  const auto profiles = platform_profiles();
  LinkModel link = profiles[in.ConsumeIntegralInRange<std::size_t>(0, profiles.size() - 1)].link;
  // Perturb a few figures, in GB/s or microseconds: seconds-like values cover zero, negative, NaN and inf.
  for (int n = in.ConsumeIntegralInRange(0, 3); n > 0; --n) {
    const double v = any_seconds(in) * 100;
    switch (in.ConsumeIntegralInRange(0, 4)) {
      case 0: link.h2d_gbps = v; break;
      case 1: link.d2h_gbps = v; break;
      case 2: link.sm_read_gbps = v; break;
      case 3: link.latency_us = v; break;
      default: link.bidirectional_gbps = v; break;
    }
  }
  return link;
}

bool finite(const StepPrediction& p) {
  return std::isfinite(p.step_seconds) && std::isfinite(p.forward_seconds) && std::isfinite(p.backward_seconds) &&
         std::isfinite(p.bound_seconds);
}

void activations(FuzzedDataProvider& in) {
  ActivationPlanRequest request;
  request.layers.resize(in.ConsumeIntegralInRange<std::size_t>(0, 24));
  for (LayerProfile& layer : request.layers) {
    layer.forward_seconds = any_seconds(in);
    layer.backward_seconds = any_seconds(in);
    layer.activation_bytes = in.ConsumeBool() ? any_bytes(in) : in.ConsumeIntegralInRange<std::size_t>(0, 1 << 30);
    layer.input_bytes = in.ConsumeBool() ? any_bytes(in) : in.ConsumeIntegralInRange<std::size_t>(0, 1 << 26);
  }
  request.link = any_link(in);
  if (in.ConsumeBool()) request.device_budget_bytes = any_bytes(in);
  if (in.ConsumeBool()) request.host_budget_bytes = any_bytes(in);
  request.max_lookahead = in.ConsumeIntegralInRange<std::size_t>(0, 30);
  ActivationPlan plan;
  if (!fuzz::returns_or_refuses([&] { plan = plan_activations(request); })) return;
  fuzz::check(plan.actions.size() == request.layers.size(), "an activation plan without one action per layer");
  fuzz::check(finite(plan.predicted) && finite(plan.keep_all) && finite(plan.recompute_all),
              "an activation plan predicts a time that is not finite");
  if (plan.fits_budget) {
    fuzz::check(plan.predicted.peak_device_bytes <= request.device_budget_bytes,
                "an activation plan that fits its budget peaks above it");
  }
  StepPrediction again;
  fuzz::check(fuzz::returns_or_refuses([&] {
                again = simulate_activation_step(request.layers, request.link, plan.actions, plan.prefetch_lookahead);
              }),
              "the simulation refuses the planner's own plan");
  fuzz::check(
      again.step_seconds == plan.predicted.step_seconds && again.peak_device_bytes == plan.predicted.peak_device_bytes,
      "an activation plan's prediction is not what the simulation says");
  (void)describe_plan(request, plan);
  (void)plan_to_json(plan);
}

void weights(FuzzedDataProvider& in) {
  WeightPlanRequest request;
  request.layers.resize(in.ConsumeIntegralInRange<std::size_t>(0, 16));
  for (WeightLayerProfile& layer : request.layers) {
    layer.weight_bytes = in.ConsumeBool() ? any_bytes(in) : in.ConsumeIntegralInRange<std::size_t>(0, 1 << 30);
    layer.compute_seconds = any_seconds(in);
  }
  request.link = any_link(in);
  request.device_budget_bytes =
      in.ConsumeBool() ? any_bytes(in) : in.ConsumeIntegralInRange<std::size_t>(0, 1ull << 34);
  request.allow_in_place = in.ConsumeBool();
  request.max_slots = in.ConsumeIntegralInRange<std::size_t>(0, 10);
  WeightPlan plan;
  if (!fuzz::returns_or_refuses([&] { plan = plan_weights(request); })) return;
  fuzz::check(plan.placements.size() == request.layers.size(), "a weight plan without one placement per layer");
  fuzz::check(plan.predicted.device_bytes <= request.device_budget_bytes, "a weight plan needs more than its budget");
  fuzz::check(std::isfinite(plan.predicted.step_seconds) && std::isfinite(plan.predicted.first_step_seconds),
              "a weight plan predicts a time that is not finite");
  for (std::size_t i = 0; i < plan.placements.size(); ++i) {
    if (plan.placements[i] == WeightPlacement::in_place) {
      fuzz::check(request.allow_in_place, "a weight plan reads in place where it may not");
    }
  }
  WeightStepPrediction again;
  fuzz::check(fuzz::returns_or_refuses([&] {
                again = simulate_weight_step(request.layers, request.link, plan.placements, plan.ring_slots);
              }),
              "the simulation refuses the planner's own plan");
  fuzz::check(again.step_seconds == plan.predicted.step_seconds && again.device_bytes == plan.predicted.device_bytes,
              "a weight plan's prediction is not what the simulation says");
  (void)describe_weight_plan(request, plan);
  (void)weight_plan_to_json(plan);
}

void kv_resume(FuzzedDataProvider& in) {
  KvResumeRequest request;
  if (in.ConsumeBool()) {
    request.shape = llama3_8b_kv_shape();
  } else {
    request.shape.tokens_per_block = in.ConsumeIntegralInRange<std::size_t>(0, 1 << 10);
    request.shape.layers = in.ConsumeBool() ? any_bytes(in) : in.ConsumeIntegralInRange<std::size_t>(0, 128);
    request.shape.kv_heads = in.ConsumeIntegralInRange<std::size_t>(0, 64);
    request.shape.head_dim = in.ConsumeBool() ? any_bytes(in) : in.ConsumeIntegralInRange<std::size_t>(0, 512);
    request.shape.dtype_bytes = in.ConsumeIntegralInRange<std::size_t>(0, 8);
  }
  request.context_tokens = in.ConsumeBool() ? any_bytes(in) : in.ConsumeIntegralInRange<std::size_t>(0, 1 << 20);
  request.cached_tokens =
      in.ConsumeBool() ? request.context_tokens : in.ConsumeIntegralInRange<std::size_t>(0, 1 << 20);
  request.tier = static_cast<KvTier>(in.ConsumeIntegralInRange(0, 4));
  request.link = any_link(in);
  request.prefill_tokens_per_second = any_seconds(in) * 1e5;
  request.file_read_gbps = any_seconds(in) * 10;
  KvResumePlan plan;
  if (!fuzz::returns_or_refuses([&] { plan = plan_kv_resume(request); })) return;
  fuzz::check(request.cached_tokens <= request.context_tokens, "a plan for more cached tokens than the context");
  fuzz::check(std::isfinite(plan.predicted_seconds) && plan.predicted_seconds >= 0,
              "a KV plan predicts a time that is not finite and non-negative");
  switch (plan.action) {
    case KvResumeAction::reload:
      fuzz::check(plan.predicted_seconds == plan.reload_seconds && plan.reload_seconds <= plan.recompute_seconds,
                  "reload chosen although recomputing is predicted faster");
      fuzz::check(request.cached_tokens > 0 && request.tier != KvTier::none, "reload chosen with nothing cached");
      break;
    case KvResumeAction::recompute:
      fuzz::check(plan.predicted_seconds == plan.recompute_seconds, "recompute predicts another time than its own");
      break;
    case KvResumeAction::resident:
      fuzz::check(request.tier == KvTier::device, "resident chosen for blocks that are not on the device");
      break;
    default: fuzz::fail("a KV plan's action is outside the enum");
  }
  (void)describe_kv_plans({request}, {plan});
  (void)kv_plans_to_json({request}, {plan});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange(0, 2)) {
    case 0: activations(in); break;
    case 1: weights(in); break;
    default: kv_resume(in); break;
  }
  return 0;
}
