// `ghtier plan activations` and `ghtier plan weights`: the workload planners on a platform profile (or a saved link
// model) for a model's step given by flags or a per-layer file.
#include "plan_command.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "exit_status.hpp"
#include "ghtier/error.hpp"
#include "ghtier/platform/platform.hpp"
#include "plan_flags.hpp"

namespace ghtier::tools {

namespace {

constexpr double mib = 1024.0 * 1024.0;
constexpr double gib = 1024.0 * mib;

std::size_t to_bytes(double units, double unit) { return static_cast<std::size_t>(std::llround(units * unit)); }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw_error(ErrorCode::io_error, fmt::format("cannot read the layer file '{}'", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The numbers of each line of a layer file, `count` to a line ('#' starts a comment, blank lines skipped).
// Throws ghtier::Error(invalid_argument) naming the line that is malformed, or for a file without layers.
std::vector<std::vector<double>> read_layer_lines(std::string_view text, std::size_t count, std::string_view expected) {
  std::vector<std::vector<double>> rows;
  std::istringstream lines{std::string(text)};
  std::string line;
  for (std::size_t number = 1; std::getline(lines, line); ++number) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream fields(line);
    std::vector<double> values;
    for (double v; values.size() < count && fields >> v;) values.push_back(v);
    std::string rest;
    if (values.empty() && !(fields.clear(), fields >> rest)) continue;  // blank or comment
    fields.clear();
    if (values.size() != count || (fields >> rest)) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("layer file line {}: expected {}, got '{}'", number, expected, line));
    }
    for (double v : values) {
      if (!std::isfinite(v) || v < 0) {
        throw_error(ErrorCode::invalid_argument,
                    fmt::format("layer file line {}: values must be finite and >= 0, got '{}'", number, line));
      }
    }
    rows.push_back(std::move(values));
  }
  if (rows.empty()) throw_error(ErrorCode::invalid_argument, "layer file: no layers in it");
  return rows;
}

}  // namespace

std::vector<LayerProfile> parse_layer_profile(std::string_view text) {
  std::vector<LayerProfile> layers;
  for (const std::vector<double>& v :
       read_layer_lines(text, 4, "four numbers (forward_ms backward_ms activation_mib input_mib)")) {
    layers.push_back({v[0] * 1e-3, v[1] * 1e-3, to_bytes(v[2], mib), to_bytes(v[3], mib)});
  }
  return layers;
}

ActivationPlanRequest activation_plan_request(const PlanActivationsOptions& options) {
  ActivationPlanRequest request;
  request.link = plan_link(options.link_file, options.profile);
  if (options.layer_file) {
    request.layers = parse_layer_profile(read_file(*options.layer_file));
  } else {
    const double n = static_cast<double>(options.layers);
    request.layers.assign(options.layers,
                          LayerProfile{options.forward_ms * 1e-3 / n, options.backward_ms * 1e-3 / n,
                                       to_bytes(options.activations_gib / n, gib), to_bytes(options.input_mib, mib)});
  }
  const std::size_t n = request.layers.size();
  switch (options.budget) {
    case ActivationBudgetKind::checkpoint:
      request.device_budget_bytes =
          simulate_activation_step(request.layers, request.link, std::vector(n, LayerAction::recompute), 0)
              .peak_device_bytes;
      break;
    case ActivationBudgetKind::half_keep:
      request.device_budget_bytes =
          simulate_activation_step(request.layers, request.link, std::vector(n, LayerAction::keep), 0)
              .peak_device_bytes /
          2;
      break;
    case ActivationBudgetKind::unlimited: request.device_budget_bytes = std::numeric_limits<std::size_t>::max(); break;
    case ActivationBudgetKind::bytes: request.device_budget_bytes = to_bytes(options.budget_gib, gib); break;
  }
  if (options.host_budget_gib) request.host_budget_bytes = to_bytes(*options.host_budget_gib, gib);
  return request;
}

int run_plan_activations(const PlanActivationsOptions& options, std::ostream& out, std::ostream& /*err*/) {
  const ActivationPlanRequest request = activation_plan_request(options);
  const ActivationPlan plan = plan_activations(request);
  out << (options.json ? plan_to_json(plan) + "\n" : describe_plan(request, plan));
  return exit_ok;
}

std::vector<WeightLayerProfile> parse_weight_layers(std::string_view text) {
  std::vector<WeightLayerProfile> layers;
  for (const std::vector<double>& v : read_layer_lines(text, 2, "two numbers (weight_mib compute_ms)")) {
    layers.push_back({to_bytes(v[0], mib), v[1] * 1e-3});
  }
  return layers;
}

WeightPlanRequest weight_plan_request(const PlanWeightsOptions& options) {
  WeightPlanRequest request;
  const Platform platform = assume_platform(options.profile);
  request.link = plan_link(options.link_file, options.profile);
  request.layers =
      options.layer_file
          ? parse_weight_layers(read_file(*options.layer_file))
          : std::vector<WeightLayerProfile>(
                options.layers, WeightLayerProfile{to_bytes(options.layer_mib, mib), options.compute_ms * 1e-3});
  switch (options.in_place) {
    case InPlaceReads::automatic: request.allow_in_place = platform.coherent; break;
    case InPlaceReads::on: request.allow_in_place = true; break;
    case InPlaceReads::off: request.allow_in_place = false; break;
  }
  request.max_slots = options.max_slots;
  if (options.budget_gib) {
    request.device_budget_bytes = to_bytes(*options.budget_gib, gib);
  } else {
    std::size_t total = 0, largest = 0;
    for (const WeightLayerProfile& l : request.layers)
      total += l.weight_bytes, largest = std::max(largest, l.weight_bytes);
    request.device_budget_bytes =
        static_cast<std::size_t>(options.budget_fraction * static_cast<double>(total)) + 2 * largest;
  }
  return request;
}

int run_plan_weights(const PlanWeightsOptions& options, std::ostream& out, std::ostream& /*err*/) {
  const WeightPlanRequest request = weight_plan_request(options);
  const WeightPlan plan = plan_weights(request);
  out << (options.json ? weight_plan_to_json(plan) + "\n" : describe_weight_plan(request, plan));
  return exit_ok;
}

}  // namespace ghtier::tools
