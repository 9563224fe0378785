// plan_weights: the resident set, the ring and in-place reads, chosen against simulate_weight_step. For
// each ring size that fits, resident layers are added greedily (the one that shortens the pass most; among
// equals the one farthest from the other resident layers, so that resident compute spreads out and hides
// the copies; a second start takes the largest layers first), then resident and streamed layers swap while that helps,
// then streamed layers switch to in-place reads one at a time while that helps.
#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "ghtier/error.hpp"
#include "ghtier/workloads/weight_plan.hpp"

namespace ghtier {

namespace {

struct Candidate {
  std::vector<WeightPlacement> placements;
  std::size_t slots = 0;
  WeightStepPrediction predicted;
};

bool faster(const WeightStepPrediction& a, const WeightStepPrediction& b) {
  const double tolerance = 1e-12 * std::max(a.step_seconds, b.step_seconds);
  if (a.step_seconds < b.step_seconds - tolerance) return true;
  if (a.step_seconds > b.step_seconds + tolerance) return false;
  return a.device_bytes < b.device_bytes;
}

std::size_t largest_layer(const std::vector<WeightLayerProfile>& layers) {
  std::size_t largest = 0;
  for (const WeightLayerProfile& l : layers) largest = std::max(largest, l.weight_bytes);
  return largest;
}

// Cyclic distance from layer i to the nearest resident layer (passes repeat, so the order wraps).
std::size_t distance_to_resident(const std::vector<WeightPlacement>& placements, std::size_t i) {
  const std::size_t n = placements.size();
  for (std::size_t d = 1; d < n; ++d) {
    if (placements[(i + d) % n] == WeightPlacement::resident ||
        placements[(i + n - d) % n] == WeightPlacement::resident)
      return d;
  }
  return n;
}

// The moves of the search over one ring size; each keeps `left` (budget bytes not yet used) exact.
class ResidentSearch {
 public:
  explicit ResidentSearch(const WeightPlanRequest& request) : request_(request) {}

  [[nodiscard]] Candidate start(std::size_t slots) const {
    const std::size_t n = request_.layers.size();
    Candidate c{std::vector(n, slots == 0 ? WeightPlacement::in_place : WeightPlacement::streamed), slots, {}};
    c.predicted = simulate(c);
    return c;
  }

  // Adds the resident layer that shortens the pass most while one fits (among equals the one farthest from
  // the other resident layers).
  void fill_greedy(Candidate& current, std::size_t& left) const {
    const auto& layers = request_.layers;
    for (;;) {
      std::optional<Candidate> pick;
      std::size_t pick_distance = 0, pick_layer = 0;
      for (std::size_t i = 0; i < layers.size(); ++i) {
        if (current.placements[i] == WeightPlacement::resident || layers[i].weight_bytes > left) continue;
        Candidate next = current;
        next.placements[i] = WeightPlacement::resident;
        next.predicted = simulate(next);
        const std::size_t distance = distance_to_resident(current.placements, i);
        if (!pick || faster(next.predicted, pick->predicted) ||
            (!faster(pick->predicted, next.predicted) && distance > pick_distance)) {
          pick = std::move(next);
          pick_distance = distance;
          pick_layer = i;
        }
      }
      if (!pick) return;
      left -= layers[pick_layer].weight_bytes;
      current = std::move(*pick);
    }
  }

  // Makes the largest layers resident first (fewest bytes left to copy), as long as they fit.
  void fill_largest_first(Candidate& current, std::size_t& left) const {
    const auto& layers = request_.layers;
    std::vector<std::size_t> by_size(layers.size());
    for (std::size_t i = 0; i < by_size.size(); ++i) by_size[i] = i;
    std::stable_sort(by_size.begin(), by_size.end(),
                     [&](std::size_t a, std::size_t b) { return layers[a].weight_bytes > layers[b].weight_bytes; });
    for (std::size_t i : by_size) {
      if (layers[i].weight_bytes > left) continue;
      current.placements[i] = WeightPlacement::resident;
      left -= layers[i].weight_bytes;
    }
    current.predicted = simulate(current);
  }

  // Swaps a resident layer for a streamed one while that helps (a greedy pick can strand budget that another
  // layer would use better, or sit where its compute hides no copy).
  void swap_while_faster(Candidate& current, std::size_t& left) const {
    const auto& layers = request_.layers;
    const std::size_t n = layers.size();
    for (std::size_t round = 0; round < 2 * n; ++round) {
      std::optional<Candidate> swap;
      std::size_t swap_left = left;
      for (std::size_t i = 0; i < n; ++i) {
        if (current.placements[i] != WeightPlacement::resident) continue;
        for (std::size_t j = 0; j < n; ++j) {
          if (current.placements[j] == WeightPlacement::resident) continue;
          if (layers[j].weight_bytes > left + layers[i].weight_bytes) continue;
          Candidate next = current;
          std::swap(next.placements[i], next.placements[j]);
          next.predicted = simulate(next);
          if (faster(next.predicted, swap ? swap->predicted : current.predicted)) {
            swap = std::move(next);
            swap_left = left + layers[i].weight_bytes - layers[j].weight_bytes;
          }
        }
      }
      if (!swap) return;
      current = std::move(*swap);
      left = swap_left;
      fill_greedy(current, left);  // a swap to a smaller layer may leave room for another
    }
  }

  // Switches streamed layers to in-place reads one at a time while that helps; at least one stays streamed
  // (the ring-free candidate, slots 0, covers all in place).
  void read_in_place_while_faster(Candidate& current) const {
    for (bool changed = true; changed;) {
      changed = false;
      for (std::size_t i = 0; i < current.placements.size(); ++i) {
        if (current.placements[i] != WeightPlacement::streamed) continue;
        Candidate next = current;
        next.placements[i] = WeightPlacement::in_place;
        if (std::find(next.placements.begin(), next.placements.end(), WeightPlacement::streamed) ==
            next.placements.end())
          continue;
        next.predicted = simulate(next);
        if (faster(next.predicted, current.predicted)) {
          current = std::move(next);
          changed = true;
        }
      }
    }
  }

 private:
  [[nodiscard]] WeightStepPrediction simulate(const Candidate& c) const {
    return simulate_weight_step(request_.layers, request_.link, c.placements, c.slots);
  }

  const WeightPlanRequest& request_;
};

void validate(const WeightPlanRequest& request) {
  if (request.layers.empty()) throw_error(ErrorCode::invalid_argument, "weight plan: no layers");
  for (std::size_t i = 0; i < request.layers.size(); ++i) {
    const double s = request.layers[i].compute_seconds;
    if (!std::isfinite(s) || s < 0) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("weight plan: layer {} has a compute time of {} s (must be a finite number >= 0)", i, s));
    }
  }
  for (const auto& [name, gbps] :
       {std::pair{"h2d_gbps", request.link.h2d_gbps}, {"sm_read_gbps", request.link.sm_read_gbps}}) {
    if (!std::isfinite(gbps) || gbps < 0) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("weight plan: link {} must be a finite number >= 0, got {}", name, gbps));
    }
  }
  if (request.link.h2d_gbps == 0 && !(request.allow_in_place && request.link.sm_read_gbps > 0)) {
    throw_error(ErrorCode::invalid_argument,
                "weight plan: the link has h2d_gbps 0 and no in-place reads: no layer could leave the device");
  }
}

bool in_place_usable(const WeightPlanRequest& request) {
  return request.allow_in_place && request.link.sm_read_gbps > 0;
}

}  // namespace

std::size_t minimum_weight_budget(const WeightPlanRequest& request) {
  validate(request);
  return in_place_usable(request) ? 0 : largest_layer(request.layers);
}

WeightPlan plan_weights(const WeightPlanRequest& request) {
  const std::size_t minimum = minimum_weight_budget(request);
  const auto& layers = request.layers;
  const std::size_t n = layers.size();
  if (request.device_budget_bytes < minimum) {
    throw_error(ErrorCode::out_of_budget,
                fmt::format("weight plan: a device budget of {} bytes is below the minimum of {} bytes (one ring slot "
                            "for the largest layer)",
                            request.device_budget_bytes, minimum));
  }
  const std::size_t slot_bytes = largest_layer(layers);
  WeightPlan plan;
  plan.slot_bytes = slot_bytes;
  plan.all_resident = simulate_weight_step(layers, request.link, std::vector(n, WeightPlacement::resident), 0);
  const bool copies_usable = request.link.h2d_gbps > 0;
  if (copies_usable) {
    plan.naive = simulate_weight_step(layers, request.link, std::vector(n, WeightPlacement::streamed), 1);
  }
  if (plan.all_resident.resident_bytes <= request.device_budget_bytes) {
    plan.placements.assign(n, WeightPlacement::resident);
    plan.ring_slots = 0;
    plan.predicted = plan.all_resident;
    return plan;
  }

  const bool in_place = in_place_usable(request);
  const std::size_t max_slots = request.max_slots == 0 ? n : std::min(n, request.max_slots);
  const ResidentSearch search(request);
  std::optional<Candidate> best;
  for (std::size_t slots = 0; slots <= (copies_usable ? max_slots : 0); ++slots) {
    if (slots == 0 && !in_place) continue;
    const std::size_t ring = slots * slot_bytes;
    if (ring > request.device_budget_bytes) break;
    const Candidate empty = search.start(slots);
    for (bool largest_first : {false, true}) {
      Candidate current = empty;
      std::size_t left = request.device_budget_bytes - ring;
      if (largest_first) {
        search.fill_largest_first(current, left);
      } else {
        search.fill_greedy(current, left);
      }
      search.swap_while_faster(current, left);
      if (in_place && slots > 0) search.read_in_place_while_faster(current);
      if (!best || faster(current.predicted, best->predicted)) best = std::move(current);
    }
  }
  if (!best) {
    throw_error(ErrorCode::internal, "weight plan: no candidate plan although the budget meets the minimum");
  }
  plan.placements = std::move(best->placements);
  plan.ring_slots = best->slots;
  plan.predicted = best->predicted;
  return plan;
}

}  // namespace ghtier
