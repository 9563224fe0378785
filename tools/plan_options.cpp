// Parsing of `ghtier plan activations` and `ghtier plan weights`.
#include "plan_options.hpp"

#include <fmt/format.h>

#include "cli_options.hpp"
#include "plan_flags.hpp"

namespace ghtier::tools {

PlanActivationsOptions parse_plan_activations(std::span<const std::string_view> args) {
  PlanActivationsOptions options;
  bool shape_given = false;
  const SeenFlags seen = parse_plan_flags(
      args, "activations", common_targets(options), [&](std::string_view flag, std::string_view value) {
        if (flag == "--layers") {
          options.layers = parse_plan_whole(value, flag, "a whole number of layers");
          shape_given = true;
        } else if (flag == "--forward-ms") {
          options.forward_ms = parse_plan_number(value, flag, true);
          shape_given = true;
        } else if (flag == "--backward-ms") {
          options.backward_ms = parse_plan_number(value, flag, true);
          shape_given = true;
        } else if (flag == "--activations-gib") {
          options.activations_gib = parse_plan_number(value, flag, true);
          shape_given = true;
        } else if (flag == "--input-mib") {
          options.input_mib = parse_plan_number(value, flag, true);
          shape_given = true;
        } else if (flag == "--layer-file") {
          options.layer_file = std::string(value);
        } else if (flag == "--budget") {
          if (value == "checkpoint")
            options.budget = ActivationBudgetKind::checkpoint;
          else if (value == "half")
            options.budget = ActivationBudgetKind::half_keep;
          else if (value == "unlimited")
            options.budget = ActivationBudgetKind::unlimited;
          else
            throw UsageError(
                fmt::format("--budget expects checkpoint, half or unlimited (or use --budget-gib), got '{}'", value));
        } else if (flag == "--budget-gib") {
          options.budget = ActivationBudgetKind::bytes;
          options.budget_gib = parse_plan_number(value, flag, true);
        } else if (flag == "--host-budget-gib") {
          options.host_budget_gib = parse_plan_number(value, flag, true);
        } else {
          return false;
        }
        return true;
      });
  refuse_two_budgets(seen, "--budget", "--budget-gib");
  refuse_layer_file_with_shape(options.layer_file.has_value(), shape_given, "profile",
                               "--layers, --forward-ms, --backward-ms, --activations-gib or --input-mib");
  return options;
}

PlanWeightsOptions parse_plan_weights(std::span<const std::string_view> args) {
  PlanWeightsOptions options;
  bool shape_given = false;
  const SeenFlags seen =
      parse_plan_flags(args, "weights", common_targets(options), [&](std::string_view flag, std::string_view value) {
        if (flag == "--layers") {
          options.layers = parse_plan_whole(value, flag, "a whole number");
          shape_given = true;
        } else if (flag == "--layer-mib") {
          options.layer_mib = parse_plan_number(value, flag, false);
          shape_given = true;
        } else if (flag == "--compute-ms") {
          options.compute_ms = parse_plan_number(value, flag, true);
          shape_given = true;
        } else if (flag == "--layer-file") {
          options.layer_file = std::string(value);
        } else if (flag == "--budget-fraction") {
          options.budget_fraction = parse_plan_number(value, flag, true);
          if (options.budget_fraction > 1) {
            throw UsageError(
                fmt::format("--budget-fraction expects a fraction of the weights in [0, 1], got '{}'", value));
          }
        } else if (flag == "--budget-gib") {
          options.budget_gib = parse_plan_number(value, flag, true);
        } else if (flag == "--in-place") {
          if (value == "auto")
            options.in_place = InPlaceReads::automatic;
          else if (value == "on")
            options.in_place = InPlaceReads::on;
          else if (value == "off")
            options.in_place = InPlaceReads::off;
          else
            throw UsageError(fmt::format("--in-place expects auto, on or off, got '{}'", value));
        } else if (flag == "--max-slots") {
          options.max_slots = parse_plan_whole(value, flag, "a whole number");
        } else {
          return false;
        }
        return true;
      });
  refuse_two_budgets(seen, "--budget-fraction", "--budget-gib");
  refuse_layer_file_with_shape(options.layer_file.has_value(), shape_given, "weights and compute",
                               "--layers, --layer-mib or --compute-ms");
  return options;
}

std::string plan_usage_text() {
  return "Usage: ghtier plan activations [FLAGS]\n"
         "       ghtier plan weights [FLAGS]\n"
         "\n"
         "Plans activation offload for training: per layer keep / offload / recompute, and how many layers ahead\n"
         "the backward pass prefetches, for the shortest predicted step within a device budget. No GPU needed.\n"
         "\n"
         "  --profile NAME        the platform's link figures (default gh200-c2c; pcie-gen5, pcie-gen5-hmm)\n"
         "  --link FILE           a link model saved by `ghtier info --calibrate --save FILE` instead\n"
         "  --layers N            layers of the model (default 16)\n"
         "  --forward-ms MS       the whole forward pass, shared evenly by the layers (default 92)\n"
         "  --backward-ms MS      the whole backward pass (default 165)\n"
         "  --activations-gib G   distinct activation bytes of one step (default 22)\n"
         "  --input-mib M         one layer's input, what a recomputed layer keeps (default 64)\n"
         "  --layer-file FILE     one line per layer: forward_ms backward_ms activation_mib input_mib\n"
         "                        ('#' starts a comment), instead of the five flags above\n"
         "  --budget KIND         device budget for activations: checkpoint (what checkpointing every layer\n"
         "                        needs; the default), half (half of keeping everything), unlimited\n"
         "  --budget-gib G        device budget for activations in GiB\n"
         "  --host-budget-gib G   host memory for offloaded activations (default unlimited)\n"
         "  --json                print the plan as JSON\n"
         "\n"
         "The defaults are the reference model's step measured on an H200 (0.95 B Llama shape, batch 4 x 4096).\n"
         "\n"
         "Exit status:\n"
         "  0  done (also when no plan fits: the text says so)\n"
         "  1  bad arguments (the message names the argument)\n"
         "  3  a --link or --layer-file that cannot be read\n"
         "\n"
         "ghtier plan weights: weight streaming for models larger than the device budget: which layers stay\n"
         "resident, how many ring slots the streamed rest cycles through, where GH200 reads weights in place.\n"
         "\n"
         "  --profile NAME, --link FILE   as above\n"
         "  --layers N            decoder layers (default 32)\n"
         "  --layer-mib M         one layer's weights (default 416: Llama-3-8B's layer in bf16)\n"
         "  --compute-ms MS       one layer's compute with its weights in HBM (default 0.12: decode at batch 1)\n"
         "  --layer-file FILE     one line per layer: weight_mib compute_ms, instead of the three flags above\n"
         "  --budget-fraction F   device budget: this fraction of the weights plus two slots (default 0.5)\n"
         "  --budget-gib G        device budget for weights in GiB (resident layers and ring together)\n"
         "  --in-place MODE       auto (where the platform reads host memory coherently), on, off\n"
         "  --max-slots N         most ring slots tried (default 8)\n"
         "  --json                print the plan as JSON\n"
         "A budget below one ring slot (the largest layer) is refused with exit status 3 naming the minimum.\n";
}

}  // namespace ghtier::tools
