// `ghtier plan WORKLOAD ...`: the options of each workload's planner as plain values, parsed apart from
// the other commands so that each workload adds its own parser here without touching theirs.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ghtier::tools {

/// How the device budget of `ghtier plan activations` is given.
enum class ActivationBudgetKind {
  checkpoint,  ///< the activation bytes that checkpointing every layer needs at its peak (the default)
  half_keep,   ///< half of what keeping every activation needs
  unlimited,
  bytes,  ///< --budget-gib
};

/// `ghtier plan activations [--profile NAME] [--link FILE] [--layers N] [--forward-ms MS] [--backward-ms MS]
/// [--activations-gib GIB] [--input-mib MIB] [--layer-file FILE] [--budget checkpoint|half|unlimited]
/// [--budget-gib GIB] [--host-budget-gib GIB] [--json]`. Defaults: the reference model's step on an H200
/// (16 layers, forward 92 ms, backward 165 ms, 22 GiB of activations, 64 MiB inputs), profile gh200-c2c.
struct PlanActivationsOptions {
  std::string profile = "gh200-c2c";
  std::optional<std::string> link_file;  ///< a link model saved by `ghtier info --calibrate --save`
  std::size_t layers = 16;
  double forward_ms = 92;                 ///< whole forward pass, shared evenly by the layers
  double backward_ms = 165;               ///< whole backward pass
  double activations_gib = 22;            ///< distinct activation bytes of the step
  double input_mib = 64;                  ///< one layer's input (what a recomputed layer keeps)
  std::optional<std::string> layer_file;  ///< per-layer profile: "forward_ms backward_ms activation_mib input_mib"
  ActivationBudgetKind budget = ActivationBudgetKind::checkpoint;
  double budget_gib = 0;  ///< with ActivationBudgetKind::bytes
  std::optional<double> host_budget_gib;
  bool json = false;
};

/// Parses the arguments after `plan activations`. Throws UsageError naming the bad argument.
[[nodiscard]] PlanActivationsOptions parse_plan_activations(std::span<const std::string_view> args);

/// Whether `ghtier plan weights` lets kernels read host weights in place.
enum class InPlaceReads {
  automatic,  ///< where the profile's platform reads host memory coherently (GH200)
  on,
  off,
};

/// `ghtier plan weights [--profile NAME] [--link FILE] [--layers N] [--layer-mib MIB] [--compute-ms MS]
/// [--layer-file FILE] [--budget-fraction F | --budget-gib GIB] [--in-place auto|on|off] [--max-slots N]
/// [--json]`. Defaults: Llama-3-8B's decoder layer (416 MiB of bf16 weights) at decode batch 1 on an H200
/// (0.12 ms a layer), 32 layers, half the weights in the budget plus two slots, profile gh200-c2c.
struct PlanWeightsOptions {
  std::string profile = "gh200-c2c";
  std::optional<std::string> link_file;
  std::size_t layers = 32;
  double layer_mib = 416;
  double compute_ms = 0.12;               ///< one layer's compute with its weights in HBM
  std::optional<std::string> layer_file;  ///< per layer: "weight_mib compute_ms"
  double budget_fraction = 0.5;           ///< of all weights, plus two ring slots
  std::optional<double> budget_gib;       ///< the whole device budget instead
  InPlaceReads in_place = InPlaceReads::automatic;
  std::size_t max_slots = 8;
  bool json = false;
};

/// Parses the arguments after `plan weights`. Throws UsageError naming the bad argument.
[[nodiscard]] PlanWeightsOptions parse_plan_weights(std::span<const std::string_view> args);

/// Help text of `ghtier plan`.
[[nodiscard]] std::string plan_usage_text();

}  // namespace ghtier::tools
