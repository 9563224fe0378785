// The weight plan as a person reads it (`ghtier plan weights`) and as JSON (`--json`).
#include <fmt/format.h>

#include "core/support/json_object.hpp"
#include "ghtier/workloads/weight_plan.hpp"

namespace ghtier {

namespace {

constexpr double gib = 1024.0 * 1024.0 * 1024.0;
constexpr double mib = 1024.0 * 1024.0;

double in_gib(std::size_t bytes) { return static_cast<double>(bytes) / gib; }

std::string prediction_row(std::string_view name, const WeightStepPrediction& p, const WeightStepPrediction& bound_of) {
  return fmt::format("  {:<14} {:>9.2f} {:>9.2f} {:>9.2f}x {:>11.2f} {:>11.2f} {:>10.2f}\n", name, p.step_seconds * 1e3,
                     p.first_step_seconds * 1e3,
                     bound_of.bound_seconds > 0 ? p.step_seconds / bound_of.bound_seconds : 1.0, in_gib(p.device_bytes),
                     in_gib(p.streamed_bytes), in_gib(p.in_place_bytes));
}

nlohmann::ordered_json prediction_json(const WeightStepPrediction& p) {
  nlohmann::ordered_json j;
  j["step_seconds"] = p.step_seconds;
  j["first_step_seconds"] = p.first_step_seconds;
  j["compute_seconds"] = p.compute_seconds;
  j["bound_seconds"] = p.bound_seconds;
  j["resident_bytes"] = static_cast<std::uint64_t>(p.resident_bytes);
  j["streamed_bytes"] = static_cast<std::uint64_t>(p.streamed_bytes);
  j["in_place_bytes"] = static_cast<std::uint64_t>(p.in_place_bytes);
  j["ring_bytes"] = static_cast<std::uint64_t>(p.ring_bytes);
  j["device_bytes"] = static_cast<std::uint64_t>(p.device_bytes);
  return j;
}

}  // namespace

std::string describe_weight_plan(const WeightPlanRequest& request, const WeightPlan& plan) {
  std::string out = fmt::format(
      "Weight streaming plan: {} layers; link h2d {:.1f} GB/s, in-place read {:.1f} GB/s ({}{}); device budget "
      "{:.2f} GiB\n\n",
      request.layers.size(), request.link.h2d_gbps, request.link.sm_read_gbps,
      request.link.source.empty() ? "given" : request.link.source, request.allow_in_place ? "" : "; in-place reads off",
      in_gib(request.device_budget_bytes));
  out += fmt::format("  {:>5}  {:<9} {:>10} {:>11}\n", "layer", "placement", "compute ms", "weights MiB");
  for (std::size_t i = 0; i < request.layers.size(); ++i) {
    const WeightLayerProfile& l = request.layers[i];
    out += fmt::format("  {:>5}  {:<9} {:>10.3f} {:>11.1f}\n", i, to_string(plan.placements[i]),
                       l.compute_seconds * 1e3, static_cast<double>(l.weight_bytes) / mib);
  }
  out += fmt::format("\nRing: {} slot{} of {:.1f} MiB (lookahead {} layer{})\n", plan.ring_slots,
                     plan.ring_slots == 1 ? "" : "s", static_cast<double>(plan.slot_bytes) / mib,
                     plan.ring_slots > 0 ? plan.ring_slots - 1 : 0, plan.ring_slots == 2 ? "" : "s");
  out += fmt::format("\n  {:<14} {:>9} {:>9} {:>10} {:>11} {:>11} {:>10}\n", "predicted", "step ms", "first ms",
                     "vs bound", "device GiB", "copied GiB", "read GiB");
  out += prediction_row("this plan", plan.predicted, plan.predicted);
  out += prediction_row("all resident", plan.all_resident, plan.predicted);
  if (plan.naive.step_seconds > 0) out += prediction_row("naive copy", plan.naive, plan.predicted);
  out += fmt::format(
      "\n(bound of this plan: max(compute of every layer in device memory, copied bytes / h2d) = {:.2f} ms; steady\n"
      "state: the ring prefetches the next pass's first layers while this pass ends)\n",
      plan.predicted.bound_seconds * 1e3);
  return out;
}

std::string weight_plan_to_json(const WeightPlan& plan) {
  nlohmann::ordered_json j;
  j["placements"] = nlohmann::ordered_json::array();
  for (WeightPlacement p : plan.placements) j["placements"].push_back(std::string(to_string(p)));
  j["ring_slots"] = static_cast<std::uint64_t>(plan.ring_slots);
  j["slot_bytes"] = static_cast<std::uint64_t>(plan.slot_bytes);
  j["predicted"] = prediction_json(plan.predicted);
  j["all_resident"] = prediction_json(plan.all_resident);
  j["naive"] = prediction_json(plan.naive);
  return detail::dump_json_document(j);
}

}  // namespace ghtier
