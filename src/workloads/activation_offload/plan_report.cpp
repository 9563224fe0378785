// The activation plan as a person reads it (`ghtier plan activations`) and as JSON (`--json`).
#include <limits>

#include <fmt/format.h>

#include "core/support/json_object.hpp"
#include "ghtier/workloads/activation_plan.hpp"

namespace ghtier {

namespace {

constexpr double gib = 1024.0 * 1024.0 * 1024.0;

std::string budget_text(std::size_t bytes) {
  if (bytes == std::numeric_limits<std::size_t>::max()) return "unlimited";
  return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / gib);
}

std::string prediction_row(std::string_view name, const StepPrediction& p, const StepPrediction& keep_all) {
  return fmt::format("  {:<16} {:>9.1f} {:>8.2f}x {:>10.2f} {:>14.2f} {:>11} {:>9.1f}\n", name, p.step_seconds * 1e3,
                     keep_all.step_seconds > 0 ? p.step_seconds / keep_all.step_seconds : 1.0,
                     static_cast<double>(p.peak_device_bytes) / gib, static_cast<double>(p.offloaded_bytes) / gib,
                     p.recomputed_layers, p.bound_seconds * 1e3);
}

nlohmann::ordered_json prediction_json(const StepPrediction& p) {
  nlohmann::ordered_json j;
  j["step_seconds"] = p.step_seconds;
  j["forward_seconds"] = p.forward_seconds;
  j["backward_seconds"] = p.backward_seconds;
  j["peak_device_bytes"] = static_cast<std::uint64_t>(p.peak_device_bytes);
  j["offloaded_bytes"] = static_cast<std::uint64_t>(p.offloaded_bytes);
  j["recomputed_layers"] = static_cast<std::uint64_t>(p.recomputed_layers);
  j["bound_seconds"] = p.bound_seconds;
  return j;
}

}  // namespace

std::string describe_plan(const ActivationPlanRequest& request, const ActivationPlan& plan) {
  std::string out = fmt::format(
      "Activation plan: {} layers; link d2h {:.1f} GB/s, h2d {:.1f} GB/s ({}); device budget {}, host budget {}\n\n",
      request.layers.size(), request.link.d2h_gbps, request.link.h2d_gbps,
      request.link.source.empty() ? "given" : request.link.source, budget_text(request.device_budget_bytes),
      budget_text(request.host_budget_bytes));
  out += fmt::format("  {:>5}  {:<9} {:>10} {:>11} {:>15}\n", "layer", "action", "forward ms", "backward ms",
                     "activations MiB");
  for (std::size_t i = 0; i < request.layers.size(); ++i) {
    const LayerProfile& l = request.layers[i];
    out += fmt::format("  {:>5}  {:<9} {:>10.2f} {:>11.2f} {:>15.1f}\n", i, to_string(plan.actions[i]),
                       l.forward_seconds * 1e3, l.backward_seconds * 1e3,
                       static_cast<double>(l.activation_bytes) / (1024.0 * 1024.0));
  }
  out += fmt::format("\nPrefetch lookahead: {} layer{}\n", plan.prefetch_lookahead,
                     plan.prefetch_lookahead == 1 ? "" : "s");
  if (!plan.fits_budget) {
    out += fmt::format(
        "NO PLAN FITS the device budget of {}: the leanest needs {:.2f} GiB of activations on the device\n",
        budget_text(request.device_budget_bytes), static_cast<double>(plan.predicted.peak_device_bytes) / gib);
  }
  out += fmt::format("\n  {:<16} {:>9} {:>9} {:>10} {:>14} {:>11} {:>9}\n", "predicted", "step ms", "vs keep",
                     "peak GiB", "offloaded GiB", "recomputed", "bound ms");
  out += prediction_row("this plan", plan.predicted, plan.keep_all);
  out += prediction_row("keep all", plan.keep_all, plan.keep_all);
  out += prediction_row("checkpoint all", plan.recompute_all, plan.keep_all);
  out +=
      "\n(peak: activation bytes on the device at once; bound: max(forward, offloaded / d2h) + max(backward,\n"
      "offloaded / h2d) for this plan's actions)\n";
  return out;
}

std::string plan_to_json(const ActivationPlan& plan) {
  nlohmann::ordered_json j;
  j["actions"] = nlohmann::ordered_json::array();
  for (LayerAction a : plan.actions) j["actions"].push_back(std::string(to_string(a)));
  j["prefetch_lookahead"] = static_cast<std::uint64_t>(plan.prefetch_lookahead);
  j["fits_budget"] = plan.fits_budget;
  j["predicted"] = prediction_json(plan.predicted);
  j["keep_all"] = prediction_json(plan.keep_all);
  j["recompute_all"] = prediction_json(plan.recompute_all);
  return detail::dump_json_document(j);
}

}  // namespace ghtier
