// plan_weights: the resident set, the ring and in-place reads, chosen against simulate_weight_step. Where
// the layers are few (every resident set times every ring size within exact_search_limit simulations), every
// resident set is tried for every ring size: the best resident/streamed plan, exactly. Beyond that, a local
// search: for each ring size that fits, resident layers are added greedily (the one that shortens the pass
// most; among equals the one farthest from the other resident layers, so that resident compute spreads out
// and hides the copies), or in a fixed order (largest layers first; most bytes per compute second first),
// then one resident layer swaps for a streamed one (filling the room freed) while that helps, and for the
// best start also two resident layers for one streamed one. Either way streamed layers then switch to
// in-place reads one at a time while that helps.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "ghtier/error.hpp"
#include "ghtier/workloads/weight_plan.hpp"
#include "workloads/weight_streaming/weight_plan_search.hpp"

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

// Simulations one search for a pair swap may spend (resident pairs x streamed layers).
constexpr std::size_t pair_swap_limit = 4096;

// The moves of the search over one ring size; each keeps `left` (budget bytes not yet used) exact.
class ResidentSearch {
 public:
  ResidentSearch(const WeightPlanRequest& request, std::vector<std::size_t> largest_first)
      : request_(request), largest_first_(std::move(largest_first)) {}

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

  // Makes layers resident in `order` as long as they fit.
  void fill_in_order(Candidate& current, std::size_t& left, const std::vector<std::size_t>& order) const {
    for (std::size_t i : order) {
      if (request_.layers[i].weight_bytes > left) continue;
      current.placements[i] = WeightPlacement::resident;
      left -= request_.layers[i].weight_bytes;
    }
    current.predicted = simulate(current);
  }

  // Swaps resident layers for streamed ones while that helps (a greedy pick can strand budget that another
  // layer would use better, or sit where its compute hides no copy): one resident layer for one streamed
  // layer; where none helps and the neighbourhood is small enough (pair_swap_limit), two resident layers for
  // one streamed layer. Each swap also fills the room it frees, largest layers first, within the same move:
  // swapping one large layer for two smaller ones may be faster where either half alone is not.
  void swap_while_faster(Candidate& current, std::size_t& left, bool pairs) const {
    const std::size_t n = request_.layers.size();
    for (std::size_t round = 0; round < 2 * n; ++round) {
      std::optional<Candidate> swap;
      std::size_t swap_left = left;
      std::vector<std::size_t> resident, away;
      for (std::size_t i = 0; i < n; ++i) {
        (current.placements[i] == WeightPlacement::resident ? resident : away).push_back(i);
      }
      auto try_swap = [&](std::size_t i1, std::optional<std::size_t> i2, std::size_t j) {
        const std::size_t freed = bytes(i1) + (i2 ? bytes(*i2) : 0);
        if (bytes(j) > left + freed) return;
        Candidate next = current;
        next.placements[j] = WeightPlacement::resident;
        next.placements[i1] = current.placements[j];
        if (i2) next.placements[*i2] = current.placements[j];
        std::size_t next_left = left + freed - bytes(j);
        for (std::size_t k : largest_first_) {
          if (k == i1 || k == i2 || next.placements[k] == WeightPlacement::resident || bytes(k) > next_left) continue;
          next.placements[k] = WeightPlacement::resident;
          next_left -= bytes(k);
        }
        next.predicted = simulate(next);
        if (faster(next.predicted, swap ? swap->predicted : current.predicted)) {
          swap = std::move(next);
          swap_left = next_left;
        }
      };
      for (std::size_t i : resident) {
        for (std::size_t j : away) try_swap(i, std::nullopt, j);
      }
      if (!swap && pairs && resident.size() * resident.size() * away.size() / 2 <= pair_swap_limit) {
        for (std::size_t a = 0; a < resident.size(); ++a) {
          for (std::size_t b = a + 1; b < resident.size(); ++b) {
            for (std::size_t j : away) try_swap(resident[a], resident[b], j);
          }
        }
      }
      if (!swap) return;
      current = std::move(*swap);
      left = swap_left;
      fill_greedy(current, left);  // room left may still take a layer that helps
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

  [[nodiscard]] std::size_t bytes(std::size_t layer) const { return request_.layers[layer].weight_bytes; }

  const WeightPlanRequest& request_;
  std::vector<std::size_t> largest_first_;  // layer indices, largest layers first
};

// Simulations the exact search may spend (resident sets x ring sizes): 14 layers at 8 ring sizes, about
// 15 ms.
constexpr std::size_t exact_search_limit = std::size_t{1} << 17;

// Every resident set for every ring size in `slot_counts` that fits the budget; per ring size the fastest
// plan (among equals the fewest device bytes). Non-resident layers are streamed, or read in place at 0 slots.
std::vector<Candidate> best_resident_sets(const WeightPlanRequest& request, const std::vector<std::size_t>& slot_counts,
                                          std::size_t slot_bytes) {
  const auto& layers = request.layers;
  const std::size_t n = layers.size();
  std::vector<std::optional<Candidate>> best(slot_counts.size());
  Candidate c;
  for (std::size_t mask = 0; mask < (std::size_t{1} << n); ++mask) {
    std::size_t resident = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (mask & (std::size_t{1} << i)) resident += layers[i].weight_bytes;
    }
    if (resident > request.device_budget_bytes) continue;
    for (std::size_t k = 0; k < slot_counts.size(); ++k) {
      c.slots = slot_counts[k];
      if (resident + c.slots * slot_bytes > request.device_budget_bytes) continue;
      const WeightPlacement away = c.slots == 0 ? WeightPlacement::in_place : WeightPlacement::streamed;
      c.placements.assign(n, away);
      for (std::size_t i = 0; i < n; ++i) {
        if (mask & (std::size_t{1} << i)) c.placements[i] = WeightPlacement::resident;
      }
      c.predicted = simulate_weight_step(layers, request.link, c.placements, c.slots);
      if (!best[k] || faster(c.predicted, best[k]->predicted)) best[k] = c;
    }
  }
  std::vector<Candidate> out;
  for (auto& b : best) {
    if (b) out.push_back(std::move(*b));
  }
  return out;
}

// Layer indices sorted by `before`, ties in layer order.
template <typename Before>
std::vector<std::size_t> layer_order(std::size_t n, Before before) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), before);
  return order;
}

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

// The best plan the search finds for each ring size that fits (after in-place reads where allowed).
std::vector<Candidate> best_per_ring_size(const WeightPlanRequest& request, detail::WeightSearchMethod method) {
  const auto& layers = request.layers;
  const std::size_t n = layers.size();
  const std::size_t slot_bytes = largest_layer(layers);
  const bool copies_usable = request.link.h2d_gbps > 0;
  const bool in_place = in_place_usable(request);
  const std::size_t max_slots = request.max_slots == 0 ? n : std::min(n, request.max_slots);
  std::vector<std::size_t> slot_counts;
  for (std::size_t slots = 0; slots <= (copies_usable ? max_slots : 0); ++slots) {
    if (slots == 0 && !in_place) continue;
    if (slots * slot_bytes > request.device_budget_bytes) break;
    slot_counts.push_back(slots);
  }
  const std::vector<std::size_t> largest_first =
      layer_order(n, [&](std::size_t a, std::size_t b) { return layers[a].weight_bytes > layers[b].weight_bytes; });
  const ResidentSearch search(request, largest_first);
  std::vector<std::optional<Candidate>> best(slot_counts.size());
  auto consider = [&](Candidate current) {
    if (in_place && current.slots > 0) search.read_in_place_while_faster(current);
    const auto k = static_cast<std::size_t>(std::find(slot_counts.begin(), slot_counts.end(), current.slots) -
                                            slot_counts.begin());
    if (!best[k] || faster(current.predicted, best[k]->predicted)) best[k] = std::move(current);
  };
  const bool exact = method == detail::WeightSearchMethod::automatic && n < 8 * sizeof(std::size_t) &&
                     (std::size_t{1} << n) <= exact_search_limit / std::max<std::size_t>(slot_counts.size(), 1);
  if (exact) {
    for (Candidate& c : best_resident_sets(request, slot_counts, slot_bytes)) consider(std::move(c));
  }
  // The local search also runs beside the exact one where in-place reads are allowed: the exact search
  // covers resident sets, not which streamed layers are better read in place.
  if (!exact || in_place) {
    // Most bytes per compute second first: the layers whose copies their own compute hides least.
    const std::vector<std::size_t> copy_heavy_first = layer_order(n, [&](std::size_t a, std::size_t b) {
      return static_cast<double>(layers[a].weight_bytes) * layers[b].compute_seconds >
             static_cast<double>(layers[b].weight_bytes) * layers[a].compute_seconds;
    });
    for (std::size_t slots : slot_counts) {
      const Candidate empty = search.start(slots);
      std::vector<std::vector<WeightPlacement>> started;           // a start seen before would end where it did
      std::optional<std::pair<Candidate, std::size_t>> best_here;  // the best of this ring size, bytes left
      for (const std::vector<std::size_t>* order :
           {static_cast<const std::vector<std::size_t>*>(nullptr), &largest_first, &copy_heavy_first}) {
        Candidate current = empty;
        std::size_t left = request.device_budget_bytes - slots * slot_bytes;
        if (order == nullptr) {
          search.fill_greedy(current, left);
        } else {
          search.fill_in_order(current, left, *order);
        }
        if (std::find(started.begin(), started.end(), current.placements) != started.end()) continue;
        started.push_back(current.placements);
        search.swap_while_faster(current, left, false);
        if (!best_here || faster(current.predicted, best_here->first.predicted)) {
          best_here.emplace(std::move(current), left);
        }
      }
      // Pair swaps cost a neighbourhood a size larger: only the best start of each ring size tries them.
      search.swap_while_faster(best_here->first, best_here->second, true);
      consider(std::move(best_here->first));
    }
  }
  std::vector<Candidate> out;
  for (auto& b : best) {
    if (b) out.push_back(std::move(*b));
  }
  return out;
}

// The same layers with compute as long as each layer's copy where it was shorter: the passes (prefill,
// large batches) where hiding a copy behind the previous layer's compute matters most.
WeightPlanRequest with_copy_length_compute(const WeightPlanRequest& request) {
  WeightPlanRequest long_compute = request;
  for (WeightLayerProfile& l : long_compute.layers) {
    l.compute_seconds = std::max(l.compute_seconds, request.link.copy_seconds(l.weight_bytes, true));
  }
  return long_compute;
}

// Among the candidates, the one whose worse relative loss, against the best candidate of each compute
// case, is smallest (ties: the faster in the given case). Each candidate is timed in both cases.
Candidate least_regret(const WeightPlanRequest& given, const WeightPlanRequest& long_compute,
                       std::vector<Candidate> candidates) {
  std::vector<double> in_given, in_long;
  double best_given = 0, best_long = 0;
  for (const Candidate& c : candidates) {
    in_given.push_back(simulate_weight_step(given.layers, given.link, c.placements, c.slots).step_seconds);
    in_long.push_back(simulate_weight_step(long_compute.layers, long_compute.link, c.placements, c.slots).step_seconds);
    best_given = in_given.size() == 1 ? in_given.back() : std::min(best_given, in_given.back());
    best_long = in_long.size() == 1 ? in_long.back() : std::min(best_long, in_long.back());
  }
  std::size_t pick = 0;
  double pick_regret = 0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const double regret =
        std::max(best_given > 0 ? in_given[i] / best_given : 1.0, best_long > 0 ? in_long[i] / best_long : 1.0);
    const bool tie = std::abs(regret - pick_regret) <= 1e-9 * pick_regret;
    if (i == 0 || (!tie && regret < pick_regret) || (tie && in_given[i] < in_given[pick])) {
      pick = i;
      pick_regret = regret;
    }
  }
  return std::move(candidates[pick]);
}

}  // namespace

std::size_t minimum_weight_budget(const WeightPlanRequest& request) {
  validate(request);
  return in_place_usable(request) ? 0 : largest_layer(request.layers);
}

WeightPlan detail::plan_weights_by(const WeightPlanRequest& request, WeightSearchMethod method) {
  const std::size_t minimum = minimum_weight_budget(request);
  const auto& layers = request.layers;
  const std::size_t n = layers.size();
  if (request.device_budget_bytes < minimum) {
    throw_error(ErrorCode::out_of_budget,
                fmt::format("weight plan: a device budget of {} bytes is below the minimum of {} bytes (one ring slot "
                            "for the largest layer)",
                            request.device_budget_bytes, minimum));
  }
  WeightPlan plan;
  plan.slot_bytes = largest_layer(layers);
  plan.all_resident = simulate_weight_step(layers, request.link, std::vector(n, WeightPlacement::resident), 0);
  if (request.link.h2d_gbps > 0) {
    plan.naive = simulate_weight_step(layers, request.link, std::vector(n, WeightPlacement::streamed), 1);
  }
  if (plan.all_resident.resident_bytes <= request.device_budget_bytes) {
    plan.placements.assign(n, WeightPlacement::resident);
    plan.ring_slots = 0;
    plan.predicted = plan.all_resident;
    return plan;
  }
  std::vector<Candidate> candidates = best_per_ring_size(request, method);
  if (candidates.empty()) {
    throw_error(ErrorCode::internal, "weight plan: no candidate plan although the budget meets the minimum");
  }
  Candidate chosen;
  if (request.hedge_compute && request.link.h2d_gbps > 0) {
    const WeightPlanRequest long_compute = with_copy_length_compute(request);
    std::vector<Candidate> more = best_per_ring_size(long_compute, method);
    for (Candidate& c : more) candidates.push_back(std::move(c));
    chosen = least_regret(request, long_compute, std::move(candidates));
    chosen.predicted = simulate_weight_step(layers, request.link, chosen.placements, chosen.slots);
  } else {
    chosen =
        std::move(*std::min_element(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
          return faster(a.predicted, b.predicted);
        }));
  }
  plan.placements = std::move(chosen.placements);
  plan.ring_slots = chosen.slots;
  plan.predicted = chosen.predicted;
  return plan;
}

WeightPlan plan_weights(const WeightPlanRequest& request) {
  return detail::plan_weights_by(request, detail::WeightSearchMethod::automatic);
}

}  // namespace ghtier
