// plan_activations: keep / offload / recompute per layer and the prefetch lookahead, chosen against
// simulate_activation_step. Greedy from keep-all (cheapest seconds per byte of peak freed) until the budget
// is met, then best-improvement moves of one layer at a time; repeated for each lookahead. Actions fixed by
// the caller are only timed at each lookahead.
#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "ghtier/error.hpp"
#include "ghtier/workloads/activation_plan.hpp"

namespace ghtier {

namespace {

struct Candidate {
  std::vector<LayerAction> actions;
  StepPrediction predicted;
};

class PlanSearch {
 public:
  PlanSearch(const ActivationPlanRequest& request, std::size_t lookahead)
      : request_(request),
        lookahead_(lookahead),
        link_usable_(request.link.h2d_gbps > 0 && request.link.d2h_gbps > 0) {}

  [[nodiscard]] bool fits(const StepPrediction& p) const {
    return p.peak_device_bytes <= request_.device_budget_bytes && p.offloaded_bytes <= request_.host_budget_bytes;
  }

  // Feasible beats infeasible; among feasible, the shorter step, then the fewer device bytes; among
  // infeasible, the fewer device bytes (the leanest is what the user is told about).
  [[nodiscard]] bool better(const StepPrediction& a, const StepPrediction& b) const {
    const bool fa = fits(a), fb = fits(b);
    if (fa != fb) return fa;
    if (!fa) return a.peak_device_bytes < b.peak_device_bytes;
    const double tolerance = 1e-12 * std::max(a.step_seconds, b.step_seconds);
    if (a.step_seconds < b.step_seconds - tolerance) return true;
    if (a.step_seconds > b.step_seconds + tolerance) return false;
    return a.peak_device_bytes < b.peak_device_bytes;
  }

  [[nodiscard]] StepPrediction simulate(const std::vector<LayerAction>& actions) const {
    return simulate_activation_step(request_.layers, request_.link, actions, lookahead_);
  }

  [[nodiscard]] bool allowed(const std::vector<LayerAction>& actions, std::size_t layer, LayerAction action,
                             std::size_t offloaded_now) const {
    if (action != LayerAction::offload) return true;
    if (!link_usable_) return false;
    return offloaded_now + request_.layers[layer].activation_bytes <= request_.host_budget_bytes ||
           actions[layer] == LayerAction::offload;
  }

  // The best of three starts, each improved one layer at a time: the greedy from keep-all, every layer
  // recomputed, every layer offloaded (where the link allows). The extra starts get the planner out of
  // the greedy's local optima (on random small profiles it comes within a few percent of brute force).
  [[nodiscard]] Candidate run() const {
    const std::size_t n = request_.layers.size();
    Candidate best = improve(greedy_from_keep_all());
    for (LayerAction everywhere : {LayerAction::recompute, LayerAction::offload}) {
      Candidate start{std::vector<LayerAction>(n, everywhere), {}};
      if (everywhere == LayerAction::offload) {
        std::size_t all = 0;
        for (const LayerProfile& l : request_.layers) all += l.activation_bytes;
        if (!link_usable_ || all > request_.host_budget_bytes) continue;
      }
      start.predicted = simulate(start.actions);
      Candidate improved = improve(std::move(start));
      if (better(improved.predicted, best.predicted)) best = std::move(improved);
    }
    return best;
  }

 private:
  [[nodiscard]] Candidate greedy_from_keep_all() const {
    const std::size_t n = request_.layers.size();
    Candidate current{std::vector<LayerAction>(n, LayerAction::keep), {}};
    current.predicted = simulate(current.actions);
    // Phase 1: free peak bytes where it costs the least time per byte.
    while (!fits(current.predicted)) {
      double best_score = INFINITY;
      std::size_t best_freed = 0;
      std::optional<Candidate> best;
      for (std::size_t i = 0; i < n; ++i) {
        for (LayerAction action : {LayerAction::offload, LayerAction::recompute}) {
          const LayerAction now = current.actions[i];
          if (now == action || now == LayerAction::recompute) continue;
          if (!allowed(current.actions, i, action, current.predicted.offloaded_bytes)) continue;
          Candidate next{current.actions, {}};
          next.actions[i] = action;
          next.predicted = simulate(next.actions);
          if (next.predicted.peak_device_bytes >= current.predicted.peak_device_bytes) continue;
          const std::size_t freed = current.predicted.peak_device_bytes - next.predicted.peak_device_bytes;
          const double cost = std::max(0.0, next.predicted.step_seconds - current.predicted.step_seconds);
          const double score = cost / static_cast<double>(freed);
          if (score < best_score || (score == best_score && freed > best_freed)) {
            best_score = score;
            best_freed = freed;
            best = std::move(next);
          }
        }
      }
      if (!best) break;  // nothing frees a byte more: the leanest this greedy reaches
      current = std::move(*best);
    }
    return current;
  }

  [[nodiscard]] Candidate improve(Candidate current) const {
    const std::size_t n = request_.layers.size();
    // Phase 2: move one layer at a time while that helps (faster within the budget, or as fast and leaner).
    for (std::size_t round = 0; round < 4 * n + 4; ++round) {
      std::optional<Candidate> best;
      for (std::size_t i = 0; i < n; ++i) {
        for (LayerAction action : {LayerAction::keep, LayerAction::offload, LayerAction::recompute}) {
          if (current.actions[i] == action) continue;
          if (!allowed(current.actions, i, action, current.predicted.offloaded_bytes)) continue;
          Candidate next{current.actions, {}};
          next.actions[i] = action;
          next.predicted = simulate(next.actions);
          const StepPrediction& reference = best ? best->predicted : current.predicted;
          if (better(next.predicted, reference)) best = std::move(next);
        }
      }
      if (!best) break;
      current = std::move(*best);
    }
    return current;
  }

  const ActivationPlanRequest& request_;
  std::size_t lookahead_;
  bool link_usable_;
};

void validate_request(const ActivationPlanRequest& request) {
  if (request.layers.empty()) throw_error(ErrorCode::invalid_argument, "activation plan: the profile has no layers");
  if (!request.fixed_actions.empty() && request.fixed_actions.size() != request.layers.size()) {
    throw_error(ErrorCode::invalid_argument, fmt::format("activation plan: {} fixed actions for {} layers",
                                                         request.fixed_actions.size(), request.layers.size()));
  }
  for (const auto& [name, gbps] : {std::pair{"h2d_gbps", request.link.h2d_gbps}, {"d2h_gbps", request.link.d2h_gbps}}) {
    if (std::isnan(gbps) || gbps < 0) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("activation plan: link {} must be >= 0 (0: no link), got {}", name, gbps));
    }
  }
  // An infinite bandwidth is a meaningful limit (every copy free of its bytes); an infinite latency is not: every
  // copy would take forever, and a plan that offloads would predict an infinite step.
  if (!std::isfinite(request.link.latency_us) || request.link.latency_us < 0) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("activation plan: link latency_us must be finite and >= 0, got {}", request.link.latency_us));
  }
}

// Every lookahead up to 16 (0: a layer is restored only when its backward is reached, the least memory); beyond that a
// geometric ladder (the step time flattens once the prefetch covers the H2D latency, so the fine steps matter only at
// the low end).
std::vector<std::size_t> lookaheads_to_try(std::size_t layers, std::size_t max_lookahead) {
  const std::size_t limit = max_lookahead == 0 ? layers : std::min(layers, max_lookahead);
  std::vector<std::size_t> out;
  for (std::size_t l = 0; l <= limit; l = l < 16 ? l + 1 : l + l / 2) out.push_back(l);
  if (out.back() != limit) out.push_back(limit);
  return out;
}

}  // namespace

ActivationPlan plan_activations(const ActivationPlanRequest& request) {
  validate_request(request);
  const std::size_t n = request.layers.size();
  ActivationPlan plan;
  plan.keep_all = simulate_activation_step(request.layers, request.link, std::vector(n, LayerAction::keep), 1);
  plan.recompute_all =
      simulate_activation_step(request.layers, request.link, std::vector(n, LayerAction::recompute), 1);
  std::optional<Candidate> best;
  std::size_t best_lookahead = 0;
  for (std::size_t lookahead : lookaheads_to_try(n, request.max_lookahead)) {
    const PlanSearch search(request, lookahead);
    Candidate found = request.fixed_actions.empty()
                          ? search.run()
                          : Candidate{request.fixed_actions, search.simulate(request.fixed_actions)};
    if (!best || search.better(found.predicted, best->predicted)) {
      best = std::move(found);
      best_lookahead = lookahead;
    }
  }
  plan.actions = std::move(best->actions);
  plan.prefetch_lookahead = best_lookahead;
  plan.predicted = best->predicted;
  plan.fits_budget = plan.predicted.peak_device_bytes <= request.device_budget_bytes &&
                     plan.predicted.offloaded_bytes <= request.host_budget_bytes;
  return plan;
}

}  // namespace ghtier
