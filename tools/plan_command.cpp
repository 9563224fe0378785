// `ghtier plan activations` and `ghtier plan weights`: the workload planners on a platform profile (or a saved link
// model) for a model's step given by flags or a per-layer file.
#include "plan_command.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "exit_status.hpp"
#include "ghtier/error.hpp"
#include "ghtier/platform/platform.hpp"

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

}  // namespace

std::vector<LayerProfile> parse_layer_profile(std::string_view text) {
  std::vector<LayerProfile> layers;
  std::istringstream lines{std::string(text)};
  std::string line;
  for (std::size_t number = 1; std::getline(lines, line); ++number) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream fields(line);
    double values[4];
    std::size_t count = 0;
    for (double v; count < 4 && fields >> v;) values[count++] = v;
    std::string rest;
    if (count == 0 && !(fields.clear(), fields >> rest)) continue;  // blank or comment
    fields.clear();
    if (count != 4 || (fields >> rest)) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("layer file line {}: expected four numbers (forward_ms backward_ms activation_mib "
                              "input_mib), got '{}'",
                              number, line));
    }
    for (double v : values) {
      if (!std::isfinite(v) || v < 0) {
        throw_error(ErrorCode::invalid_argument,
                    fmt::format("layer file line {}: values must be finite and >= 0, got '{}'", number, line));
      }
    }
    layers.push_back({values[0] * 1e-3, values[1] * 1e-3, to_bytes(values[2], mib), to_bytes(values[3], mib)});
  }
  if (layers.empty()) throw_error(ErrorCode::invalid_argument, "layer file: no layers in it");
  return layers;
}

ActivationPlanRequest activation_plan_request(const PlanActivationsOptions& options) {
  ActivationPlanRequest request;
  request.link = options.link_file ? load_link_model(*options.link_file) : assume_platform(options.profile).link;
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
  std::istringstream lines{std::string(text)};
  std::string line;
  for (std::size_t number = 1; std::getline(lines, line); ++number) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream fields(line);
    double values[2];
    std::size_t count = 0;
    for (double v; count < 2 && fields >> v;) values[count++] = v;
    std::string rest;
    if (count == 0 && !(fields.clear(), fields >> rest)) continue;  // blank or comment
    fields.clear();
    if (count != 2 || (fields >> rest)) {
      throw_error(
          ErrorCode::invalid_argument,
          fmt::format("layer file line {}: expected two numbers (weight_mib compute_ms), got '{}'", number, line));
    }
    for (double v : values) {
      if (!std::isfinite(v) || v < 0) {
        throw_error(ErrorCode::invalid_argument,
                    fmt::format("layer file line {}: values must be finite and >= 0, got '{}'", number, line));
      }
    }
    layers.push_back({to_bytes(values[0], mib), values[1] * 1e-3});
  }
  if (layers.empty()) throw_error(ErrorCode::invalid_argument, "layer file: no layers in it");
  return layers;
}

WeightPlanRequest weight_plan_request(const PlanWeightsOptions& options) {
  WeightPlanRequest request;
  const Platform platform = assume_platform(options.profile);
  request.link = options.link_file ? load_link_model(*options.link_file) : platform.link;
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
