// `ghtier plan activations`: the activation planner on a platform profile (or a saved link model) for a
// model's step given by flags or a per-layer file.
#include "plan_command.hpp"

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

}  // namespace ghtier::tools
