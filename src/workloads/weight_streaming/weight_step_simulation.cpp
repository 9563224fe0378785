// simulate_weight_step: the pass-time model the weight planner optimises. One H2D lane copies the streamed
// layers in order, cycling across passes (the ring prefetches the next pass's first layers while this one
// ends); a copy waits for its ring slot; compute runs layer after layer and waits only for its own copy.
// In-place layers compute at max(compute, bytes / sm_read) and are modelled apart from the copy lane.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ghtier/error.hpp"
#include "ghtier/workloads/weight_plan.hpp"

namespace ghtier {

std::string_view to_string(WeightPlacement placement) noexcept {
  switch (placement) {
    case WeightPlacement::resident: return "resident";
    case WeightPlacement::streamed: return "streamed";
    case WeightPlacement::in_place: return "in_place";
  }
  return "unknown";
}

namespace {

// Passes simulated: the ring reaches its steady state in the second pass; the last one is reported.
constexpr int simulated_passes = 4;

void check_layers(const std::vector<WeightLayerProfile>& layers) {
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const double s = layers[i].compute_seconds;
    if (!std::isfinite(s) || s < 0) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("weight plan: layer {} has a compute time of {} s (must be a finite number >= 0)", i, s));
    }
  }
}

void check_rate(double gbps, const char* name) {
  if (!std::isfinite(gbps) || gbps <= 0) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("weight plan: link {} must be a positive finite number where layers use it, got {}", name, gbps));
  }
}

}  // namespace

WeightStepPrediction simulate_weight_step(const std::vector<WeightLayerProfile>& layers, const LinkModel& link,
                                          const std::vector<WeightPlacement>& placements, std::size_t ring_slots) {
  if (placements.size() != layers.size()) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("weight plan: {} placements for {} layers", placements.size(), layers.size()));
  }
  check_layers(layers);
  if (!std::isfinite(link.latency_us) || link.latency_us < 0) {  // infinite: every streamed pass would be too
    throw_error(ErrorCode::invalid_argument,
                fmt::format("weight plan: link latency_us must be finite and >= 0, got {}", link.latency_us));
  }
  WeightStepPrediction p;
  double all_compute = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::size_t bytes = layers[i].weight_bytes;
    all_compute += layers[i].compute_seconds;
    switch (placements[i]) {
      case WeightPlacement::resident: p.resident_bytes += bytes; break;
      case WeightPlacement::streamed: p.streamed_bytes += bytes; break;
      case WeightPlacement::in_place: p.in_place_bytes += bytes; break;
    }
  }
  const bool any_streamed =
      std::find(placements.begin(), placements.end(), WeightPlacement::streamed) != placements.end();
  const bool any_in_place =
      std::find(placements.begin(), placements.end(), WeightPlacement::in_place) != placements.end();
  if (any_streamed && ring_slots == 0) {
    throw_error(ErrorCode::invalid_argument, "weight plan: streamed layers need at least one ring slot, got 0");
  }
  if (any_streamed) check_rate(link.h2d_gbps, "h2d_gbps");
  if (any_in_place) check_rate(link.sm_read_gbps, "sm_read_gbps");

  std::vector<double> slot_free(std::max<std::size_t>(ring_slots, 1), 0.0);  // when each slot's last user ended
  std::size_t copies = 0;  // streamed layers copied so far, across passes
  double link_free = 0, compute_free = 0, previous_pass_end = 0;
  for (int pass = 0; pass < simulated_passes; ++pass) {
    const double pass_start = compute_free;
    double compute = 0;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      double seconds = layers[i].compute_seconds;
      double start = compute_free;
      if (placements[i] == WeightPlacement::in_place) {
        seconds = std::max(seconds, static_cast<double>(layers[i].weight_bytes) / (link.sm_read_gbps * 1e9));
      } else if (placements[i] == WeightPlacement::streamed) {
        double& slot = slot_free[copies % ring_slots];
        const double copy_start = std::max(link_free, slot);
        link_free = copy_start + link.copy_seconds(layers[i].weight_bytes, true);
        start = std::max(start, link_free);
      }
      compute_free = start + seconds;
      compute += seconds;
      if (placements[i] == WeightPlacement::streamed) slot_free[copies++ % ring_slots] = compute_free;
    }
    if (pass == 0) p.first_step_seconds = compute_free - pass_start;
    p.step_seconds = compute_free - previous_pass_end;
    p.compute_seconds = compute;
    previous_pass_end = compute_free;
  }
  std::size_t slot_bytes = 0;
  for (const WeightLayerProfile& l : layers) slot_bytes = std::max(slot_bytes, l.weight_bytes);
  p.ring_bytes = ring_slots * slot_bytes;
  p.device_bytes = p.resident_bytes + p.ring_bytes;
  const double copy_bound = any_streamed ? static_cast<double>(p.streamed_bytes) / (link.h2d_gbps * 1e9) : 0.0;
  p.bound_seconds = std::max(all_compute, copy_bound);
  return p;
}

}  // namespace ghtier
