// simulate_activation_step: the step-time and peak-memory model the activation planner optimises.
// Two copy lanes (D2H behind the forward pass, H2D ahead of the backward pass), each serial, each at the
// link model's rate for its direction; compute runs layer after layer and waits only for its own prefetch.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ghtier/error.hpp"
#include "ghtier/workloads/activation_plan.hpp"

namespace ghtier {

std::string_view to_string(LayerAction action) noexcept {
  switch (action) {
    case LayerAction::keep: return "keep";
    case LayerAction::offload: return "offload";
    case LayerAction::recompute: return "recompute";
  }
  return "unknown";
}

namespace {

void check_seconds(double seconds, std::size_t layer, const char* what) {
  if (!std::isfinite(seconds) || seconds < 0) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("activation plan: layer {} has {} of {} s (must be a finite number >= 0)", layer, what, seconds));
  }
}

double transfer_seconds(const LinkModel& link, std::size_t bytes, bool host_to_device) {
  return link.copy_seconds(bytes, host_to_device);
}

}  // namespace

StepPrediction simulate_activation_step(const std::vector<LayerProfile>& layers, const LinkModel& link,
                                        const std::vector<LayerAction>& actions, std::size_t lookahead) {
  const std::size_t n = layers.size();
  if (actions.size() != n) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("activation plan: {} actions for {} layers (one per layer)", actions.size(), n));
  }
  StepPrediction out;
  bool any_offload = false;
  for (std::size_t i = 0; i < n; ++i) {
    check_seconds(layers[i].forward_seconds, i, "a forward time");
    check_seconds(layers[i].backward_seconds, i, "a backward time");
    any_offload = any_offload || actions[i] == LayerAction::offload;
  }
  if (any_offload && !(link.h2d_gbps > 0 && link.d2h_gbps > 0)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("activation plan: cannot offload over a link of h2d {} / d2h {} GB/s", link.h2d_gbps,
                            link.d2h_gbps));
  }

  // Offloaded bytes of layers [0, k): the bytes of a range of offloaded layers in O(1).
  std::vector<std::size_t> offloaded_before(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    offloaded_before[i + 1] =
        offloaded_before[i] + (actions[i] == LayerAction::offload ? layers[i].activation_bytes : 0);
  }
  out.offloaded_bytes = offloaded_before[n];

  // Forward: each layer's D2H is queued when its forward ends; the D2H lane is FIFO, so the layers whose
  // copy is still running at any moment are a suffix of the offloaded ones.
  std::vector<double> d2h_done(n, 0.0);
  std::size_t resident = 0;  // kept activations and recomputed layers' inputs, layers [0, i)
  double t = 0, d2h_free = 0, forward_compute = 0, backward_compute = 0;
  std::size_t first_in_flight = 0;  // every offloaded layer below it has finished its D2H
  for (std::size_t i = 0; i < n; ++i) {
    t += layers[i].forward_seconds;
    forward_compute += layers[i].forward_seconds;
    while (first_in_flight < i &&
           (actions[first_in_flight] != LayerAction::offload || d2h_done[first_in_flight] <= t)) {
      ++first_in_flight;
    }
    const std::size_t in_flight = offloaded_before[i] - offloaded_before[first_in_flight];
    out.peak_device_bytes = std::max(out.peak_device_bytes, resident + in_flight + layers[i].activation_bytes);
    switch (actions[i]) {
      case LayerAction::keep: resident += layers[i].activation_bytes; break;
      case LayerAction::recompute:
        resident += layers[i].input_bytes;
        ++out.recomputed_layers;
        break;
      case LayerAction::offload: {
        const double start = std::max(t, d2h_free);
        d2h_done[i] = start + transfer_seconds(link, layers[i].activation_bytes, false);
        d2h_free = d2h_done[i];
        break;
      }
    }
  }
  out.forward_seconds = t;

  // Backward, top layer first. When layer i's backward is reached, the H2D of layer i - lookahead is queued
  // (at the top, every layer within lookahead of it); layer i starts once its own H2D has arrived.
  std::vector<double> h2d_done(n, 0.0);
  double h2d_free = t;
  auto queue_h2d = [&](std::size_t k, double now) {
    if (actions[k] != LayerAction::offload) return;
    const double start = std::max({now, h2d_free, d2h_done[k]});
    h2d_done[k] = start + transfer_seconds(link, layers[k].activation_bytes, true);
    h2d_free = h2d_done[k];
  };
  // Resident bytes of layers [0, i) at layer i's backward: recompute `resident` from the top down.
  std::size_t resident_below = resident;
  for (std::size_t i = n; i-- > 0;) {
    const double reached = t;
    if (i == n - 1) {
      for (std::size_t k = n; k-- > 0 && n - 1 - k <= lookahead;) queue_h2d(k, reached);
    } else if (i >= lookahead) {
      queue_h2d(i - lookahead, reached);
    }
    switch (actions[i]) {
      case LayerAction::keep: resident_below -= layers[i].activation_bytes; break;
      case LayerAction::recompute: resident_below -= layers[i].input_bytes; break;
      case LayerAction::offload: break;
    }
    // Offloaded layers below i on the device now: those prefetched (k >= i - lookahead) and those whose D2H
    // has not finished (a suffix, since the D2H lane is FIFO): together a suffix [m, i).
    std::size_t m = i >= lookahead ? i - lookahead : 0;
    for (std::size_t k = 0; k < m; ++k) {
      if (actions[k] == LayerAction::offload && d2h_done[k] > reached) {
        m = k;
        break;
      }
    }
    const std::size_t prefetched = offloaded_before[i] - offloaded_before[m];
    out.peak_device_bytes = std::max(out.peak_device_bytes, resident_below + prefetched + layers[i].activation_bytes);
    const double start = actions[i] == LayerAction::offload ? std::max(reached, h2d_done[i]) : reached;
    const double recompute = actions[i] == LayerAction::recompute ? layers[i].forward_seconds : 0.0;
    backward_compute += layers[i].backward_seconds + recompute;
    t = start + recompute + layers[i].backward_seconds;
  }
  out.step_seconds = t;
  out.backward_seconds = t - out.forward_seconds;
  const double bytes = static_cast<double>(out.offloaded_bytes);
  const double d2h_s = bytes > 0 ? bytes / (link.d2h_gbps * 1e9) : 0.0;
  const double h2d_s = bytes > 0 ? bytes / (link.h2d_gbps * 1e9) : 0.0;
  out.bound_seconds = std::max(forward_compute, d2h_s) + std::max(backward_compute, h2d_s);
  return out;
}

}  // namespace ghtier
