// Activation planning for training: from a profile of one step (per layer: forward and backward time,
// activation bytes) and the link model, choose per layer keep / offload / recompute and how many layers
// ahead the backward pass prefetches, to minimise the step time under a device-memory budget.
// Pure C++ over plain values: no GPU, tested in CI, printed by `ghtier plan activations`.
#pragma once

#include "ghtier/export.h"

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "ghtier/platform/link_model.hpp"

namespace ghtier {

/// What one layer does with the activations autograd saves in its forward pass.
enum class LayerAction {
  keep,       ///< they stay in device memory until the layer's backward
  offload,    ///< copied to host memory behind the forward pass, copied back ahead of the backward pass
  recompute,  ///< dropped; only the layer's input is kept and its forward runs again in the backward pass
};

[[nodiscard]] GHTIER_API std::string_view to_string(LayerAction action) noexcept;

/// One layer of one training step, as measured (by the PyTorch layer in its first steps) or assumed.
struct GHTIER_API LayerProfile {
  double forward_seconds = 0;        ///< the layer's forward compute
  double backward_seconds = 0;       ///< the layer's backward compute (without any recompute)
  std::size_t activation_bytes = 0;  ///< distinct bytes autograd keeps for the layer's backward
  std::size_t input_bytes = 0;       ///< bytes of the layer's input: what a recomputed layer keeps
};

/// What the planner is asked.
struct GHTIER_API ActivationPlanRequest {
  std::vector<LayerProfile> layers;  ///< in forward order
  LinkModel link;                    ///< h2d_gbps / d2h_gbps of 0 mean "no link": nothing is offloaded
  /// Device bytes that activations may occupy at the step's peak (the budget of the whole model minus
  /// weights, gradients and optimizer state); unlimited by default.
  std::size_t device_budget_bytes = std::numeric_limits<std::size_t>::max();
  /// Host bytes that offloaded activations may occupy (the host arena's size); unlimited by default.
  std::size_t host_budget_bytes = std::numeric_limits<std::size_t>::max();
  /// Largest prefetch lookahead (layers) the planner tries; 0 = as many as there are layers.
  std::size_t max_lookahead = 0;
  /// Empty: the planner chooses every layer's action. Else one action per layer that the plan keeps as given
  /// (e.g. offload everything): the planner chooses only the lookahead for them, the shortest step and, among
  /// equal steps, the fewest device bytes (on a link slower than the backward pass, prefetching further
  /// ahead than the link can fill only holds more restored layers on the device).
  std::vector<LayerAction> fixed_actions{};
};

/// The predicted course of one step under given actions (simulate_activation_step).
struct GHTIER_API StepPrediction {
  double step_seconds = 0;            ///< forward start to the end of the last layer's backward
  double forward_seconds = 0;         ///< forward start to the end of the last layer's forward
  double backward_seconds = 0;        ///< step_seconds - forward_seconds
  std::size_t peak_device_bytes = 0;  ///< most activation bytes on the device at once (forward or backward)
  std::size_t offloaded_bytes = 0;    ///< bytes copied out (and back) per step
  std::size_t recomputed_layers = 0;
  /// The link's lower bound for these actions: max(forward compute, offloaded / d2h) + max(backward
  /// compute incl. recompute, offloaded / h2d).
  double bound_seconds = 0;
};

/// A plan: one action per layer, the lookahead, and what the planner predicts for it.
struct GHTIER_API ActivationPlan {
  std::vector<LayerAction> actions;  ///< one per layer, forward order
  /// When layer i's backward is reached, layer i - lookahead is prefetched (at the top: every layer within
  /// lookahead of it). 0: a layer is restored only when its own backward is reached (no overlap, least memory).
  std::size_t prefetch_lookahead = 1;
  StepPrediction predicted;
  bool fits_budget = true;       ///< false: no plan found fits device_budget_bytes; this is the leanest
  StepPrediction keep_all;       ///< every layer kept (the fastest step, the most memory)
  StepPrediction recompute_all;  ///< every layer recomputed (activation checkpointing)
};

/// Simulates one step: the forward pass runs layer after layer; an offloaded layer's D2H is queued on one
/// D2H lane when its forward ends; the backward pass runs in reverse; an offloaded layer's H2D is queued on
/// one H2D lane (after its D2H) when the backward of the layer `lookahead` above it starts, and its
/// backward waits for it; a recomputed layer runs its forward again before its backward.
/// Throws Error(invalid_argument) for actions of another length than layers, a negative or non-finite
/// time, or an offload over a link of bandwidth 0.
[[nodiscard]] GHTIER_API StepPrediction simulate_activation_step(const std::vector<LayerProfile>& layers,
                                                                 const LinkModel& link,
                                                                 const std::vector<LayerAction>& actions,
                                                                 std::size_t lookahead);

/// Chooses the plan with the shortest predicted step that fits the budgets (ties: the fewer device bytes).
/// Greedy from keep-all (the change that costs least time per byte of peak freed, until the budget is met),
/// then local improvement and a sweep of lookaheads; with fixed_actions, only the sweep of lookaheads.
/// Throws Error(invalid_argument) for no layers, a negative or non-finite time, a negative bandwidth, or
/// fixed_actions of another length than layers (or offloading over a link of bandwidth 0). A budget no plan meets is no
/// error: the leanest plan comes back with fits_budget false (say so to the user, naming the budget).
[[nodiscard]] GHTIER_API ActivationPlan plan_activations(const ActivationPlanRequest& request);

/// A human-readable table of the plan (one line per layer and the predicted step against keep-all and
/// checkpointing), as `ghtier plan activations` prints it.
[[nodiscard]] GHTIER_API std::string describe_plan(const ActivationPlanRequest& request, const ActivationPlan& plan);
/// The plan as one JSON object (actions, lookahead, predictions).
[[nodiscard]] GHTIER_API std::string plan_to_json(const ActivationPlan& plan);

}  // namespace ghtier
