// `ghtier plan WORKLOAD`: runs a workload's planner on a profile and prints the plan. Pure (no GPU).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "ghtier/workloads/activation_plan.hpp"
#include "ghtier/workloads/weight_plan.hpp"
#include "plan_options.hpp"

namespace ghtier::tools {

/// The planner's request as the options describe it (layers from the flags or the layer file, the link
/// from the profile or the file, the budget resolved). Throws ghtier::Error(io_error / invalid_argument) for
/// a file that cannot be read or a malformed line (naming the line).
[[nodiscard]] ActivationPlanRequest activation_plan_request(const PlanActivationsOptions& options);

/// Reads "forward_ms backward_ms activation_mib input_mib" lines ('#' comments, blank lines skipped).
/// Throws ghtier::Error(invalid_argument) naming the line that is malformed.
[[nodiscard]] std::vector<LayerProfile> parse_layer_profile(std::string_view text);

/// `ghtier plan activations`: the plan on `out` (text or JSON). Returns an ExitStatus.
int run_plan_activations(const PlanActivationsOptions& options, std::ostream& out, std::ostream& err);

/// The weight planner's request as the options describe it (layers from the flags or the layer file, the
/// link from the profile or the file, in-place reads resolved for the profile's platform, the budget).
/// Throws ghtier::Error(io_error / invalid_argument) for a file that cannot be read or a malformed line.
[[nodiscard]] WeightPlanRequest weight_plan_request(const PlanWeightsOptions& options);

/// Reads "weight_mib compute_ms" lines ('#' comments, blank lines skipped). Throws
/// ghtier::Error(invalid_argument) naming the line that is malformed.
[[nodiscard]] std::vector<WeightLayerProfile> parse_weight_layers(std::string_view text);

/// `ghtier plan weights`: the plan on `out` (text or JSON). Returns an ExitStatus.
int run_plan_weights(const PlanWeightsOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ghtier::tools
