// The weight streaming C API: the planner (works on an offline runtime) and the streamer handle (in the one
// handle registry), each function one guarded wrapper. Arguments are checked before handles are looked up,
// so every bad argument is reported (and tested) without a GPU.
#include <cmath>
#include <memory>

#include <fmt/format.h>

#include "capi/c_api_errors.hpp"
#include "capi/c_api_holder.hpp"
#include "capi/c_api_runtime.hpp"
#include "capi/c_api_struct_version.hpp"
#include "ghtier/error.hpp"
#include "ghtier/ghtier_workloads.h"
#include "ghtier/workloads/weight_streamer.hpp"

namespace ghtier::capi {

namespace {

// A streamer runs on an engine of its own and keeps its runtime alive.
using StreamerHolder = Holder<ghtier_weight_streamer_t, WeightStreamer, HandleKind::weight_streamer>;

std::shared_ptr<StreamerHolder> get_streamer(ghtier_weight_streamer_t* handle) {
  return StreamerHolder::get(handle, "weight streamer");
}

ghtier_weight_plan_result_t result_of(const WeightPlan& plan) {
  ghtier_weight_plan_result_t out{};
  out.struct_size = sizeof(out);
  out.ring_slots = plan.ring_slots;
  out.slot_bytes = plan.slot_bytes;
  out.step_seconds = plan.predicted.step_seconds;
  out.first_step_seconds = plan.predicted.first_step_seconds;
  out.bound_seconds = plan.predicted.bound_seconds;
  out.resident_bytes = plan.predicted.resident_bytes;
  out.streamed_bytes = plan.predicted.streamed_bytes;
  out.in_place_bytes = plan.predicted.in_place_bytes;
  out.device_bytes = plan.predicted.device_bytes;
  out.all_resident_step_seconds = plan.all_resident.step_seconds;
  out.naive_step_seconds = plan.naive.step_seconds;
  return out;
}

// A C flag that must be 0 or 1 (the field was `reserved`, always 0, before it meant something).
bool flag_value(int32_t value, const char* what) {
  if (value != 0 && value != 1) throw_error(ErrorCode::invalid_argument, fmt::format("{} = {}: 0 or 1", what, value));
  return value == 1;
}

}  // namespace

}  // namespace ghtier::capi

using namespace ghtier;
using namespace ghtier::capi;

extern "C" {

ghtier_status_t ghtier_weight_plan(ghtier_runtime_t* runtime, const ghtier_weight_plan_request_t* request,
                                   int32_t* placements, ghtier_weight_plan_result_t* result) {
  return guarded("ghtier_weight_plan", [&] {
    const ghtier_weight_plan_request_t r =
        read_versioned(request, ghtier_weight_plan_request_t{}, sizeof(ghtier_weight_plan_request_t),
                       "ghtier_weight_plan_request_t* request");
    require_non_null(placements, "placements");
    check_output(result, "ghtier_weight_plan_result_t* result");
    if (r.layers == nullptr || r.num_layers == 0) {
      throw_error(ErrorCode::invalid_argument, "request->layers is NULL or request->num_layers is 0");
    }
    WeightPlanRequest plan_request;
    if (r.h2d_gbps != 0 || r.sm_read_gbps != 0) {
      plan_request.link.h2d_gbps = r.h2d_gbps;
      plan_request.link.sm_read_gbps = r.sm_read_gbps;
      plan_request.link.latency_us = r.latency_us;
      plan_request.link.source = "given";
    } else {
      plan_request.link = shared_runtime_of(runtime)->platform().link;
    }
    for (std::size_t i = 0; i < r.num_layers; ++i) {
      plan_request.layers.push_back({static_cast<std::size_t>(r.layers[i].weight_bytes), r.layers[i].compute_seconds});
    }
    plan_request.device_budget_bytes = r.device_budget_bytes;
    plan_request.allow_in_place = r.allow_in_place != 0;
    plan_request.hedge_compute = flag_value(r.hedge_compute, "request->hedge_compute");
    if (r.max_slots != 0) plan_request.max_slots = r.max_slots;
    const WeightPlan plan = plan_weights(plan_request);
    for (std::size_t i = 0; i < plan.placements.size(); ++i) placements[i] = static_cast<int32_t>(plan.placements[i]);
    write_versioned(result, result_of(plan));
  });
}

ghtier_status_t ghtier_weight_streamer_create(ghtier_runtime_t* runtime, const ghtier_weight_tensor_t* tensors,
                                              size_t num_tensors, const size_t* layer_tensor_counts,
                                              const double* layer_compute_seconds, size_t num_layers,
                                              const ghtier_weight_streamer_options_t* options,
                                              ghtier_weight_streamer_t** streamer) {
  if (streamer != nullptr) *streamer = nullptr;
  return guarded("ghtier_weight_streamer_create", [&] {
    require_non_null(streamer, "streamer");
    require_non_null(tensors, "tensors");
    require_non_null(layer_tensor_counts, "layer_tensor_counts");
    if (num_layers == 0) throw_error(ErrorCode::invalid_argument, "num_layers is 0");
    const ghtier_weight_streamer_options_t o =
        read_versioned(options, ghtier_weight_streamer_options_t{}, sizeof(std::size_t) * 2,
                       "ghtier_weight_streamer_options_t* options");
    if (o.in_place < 0 || o.in_place > 2) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("options->in_place = {}: 0 (automatic), 1 (on) or 2 (off)", o.in_place));
    }
    std::vector<WeightLayer> layers(num_layers);
    std::size_t next = 0;
    for (std::size_t i = 0; i < num_layers; ++i) {
      if (layer_tensor_counts[i] == 0 || layer_tensor_counts[i] > num_tensors - next) {
        throw_error(ErrorCode::invalid_argument,
                    fmt::format("layer_tensor_counts[{}] = {}: each layer needs at least one tensor, and the counts "
                                "may add up to num_tensors = {} at most",
                                i, layer_tensor_counts[i], num_tensors));
      }
      for (std::size_t t = 0; t < layer_tensor_counts[i]; ++t, ++next) {
        layers[i].tensors.push_back({tensors[next].host, static_cast<std::size_t>(tensors[next].bytes)});
      }
      if (layer_compute_seconds != nullptr) layers[i].compute_seconds = layer_compute_seconds[i];
    }
    if (next != num_tensors) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("layer_tensor_counts add up to {}, but num_tensors is {}", next, num_tensors));
    }
    WeightStreamerOptions cpp_options;
    cpp_options.device_budget_bytes = o.device_budget_bytes;
    if (o.max_slots != 0) cpp_options.max_slots = o.max_slots;
    cpp_options.hedge_compute = flag_value(o.hedge_compute, "options->hedge_compute");
    cpp_options.in_place = static_cast<WeightInPlaceReads>(o.in_place);
    *streamer = StreamerHolder::create_with_engine(gpu_runtime_of(runtime, "the weight streamer"), std::move(layers),
                                                   cpp_options);
  });
}

ghtier_status_t ghtier_weight_streamer_destroy(ghtier_weight_streamer_t* streamer) {
  return StreamerHolder::destroy("ghtier_weight_streamer_destroy", streamer, "weight streamer");
}

ghtier_status_t ghtier_weight_streamer_acquire(ghtier_weight_streamer_t* streamer, size_t layer, void* stream,
                                               void** device_ptrs, size_t capacity) {
  return guarded("ghtier_weight_streamer_acquire", [&] {
    require_non_null(device_ptrs, "device_ptrs");
    const auto c = get_streamer(streamer);
    const std::vector<void*> pointers = c->object().acquire(layer, ordered_stream(stream));
    if (pointers.size() > capacity) {
      c->object().release(layer, ordered_stream(stream));
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("capacity {} is too small: layer {} has {} tensors", capacity, layer, pointers.size()));
    }
    for (std::size_t i = 0; i < pointers.size(); ++i) device_ptrs[i] = pointers[i];
  });
}

ghtier_status_t ghtier_weight_streamer_release(ghtier_weight_streamer_t* streamer, size_t layer, void* stream) {
  return guarded("ghtier_weight_streamer_release",
                 [&] { get_streamer(streamer)->object().release(layer, ordered_stream(stream)); });
}

ghtier_status_t ghtier_weight_streamer_set_order(ghtier_weight_streamer_t* streamer, const size_t* order,
                                                 size_t count) {
  return guarded("ghtier_weight_streamer_set_order", [&] {
    require_non_null(order, "order");
    get_streamer(streamer)->object().set_order(std::vector<std::size_t>(order, order + count));
  });
}

ghtier_status_t ghtier_weight_streamer_set_budget(ghtier_weight_streamer_t* streamer, size_t device_budget_bytes) {
  return guarded("ghtier_weight_streamer_set_budget",
                 [&] { get_streamer(streamer)->object().set_budget(device_budget_bytes); });
}

ghtier_status_t ghtier_weight_streamer_get_plan(ghtier_weight_streamer_t* streamer, int32_t* placements,
                                                size_t num_layers, ghtier_weight_plan_result_t* result) {
  return guarded("ghtier_weight_streamer_get_plan", [&] {
    if (result != nullptr) check_output(result, "ghtier_weight_plan_result_t* result");
    const WeightPlan plan = get_streamer(streamer)->object().plan();
    if (placements != nullptr) {
      if (num_layers < plan.placements.size()) {
        throw_error(ErrorCode::invalid_argument, fmt::format("num_layers {} is too small: the streamer has {} layers",
                                                             num_layers, plan.placements.size()));
      }
      for (std::size_t i = 0; i < plan.placements.size(); ++i) placements[i] = static_cast<int32_t>(plan.placements[i]);
    }
    if (result != nullptr) write_versioned(result, result_of(plan));
  });
}

ghtier_status_t ghtier_weight_streamer_get_statistics(ghtier_weight_streamer_t* streamer,
                                                      ghtier_weight_streamer_statistics_t* statistics) {
  return guarded("ghtier_weight_streamer_get_statistics", [&] {
    check_output(statistics, "ghtier_weight_streamer_statistics_t* statistics");
    const WeightStreamerStatistics s = get_streamer(streamer)->object().statistics();
    ghtier_weight_streamer_statistics_t out{};
    out.struct_size = sizeof(out);
    out.acquires = s.acquires;
    out.prefetch_copies = s.prefetch_copies;
    out.urgent_copies = s.urgent_copies;
    out.copied_bytes = s.copied_bytes;
    out.budget_changes = s.budget_changes;
    out.promoted_layers = s.promoted_layers;
    out.demoted_layers = s.demoted_layers;
    out.last_budget_change_seconds = s.last_budget_change_seconds;
    out.ring_slots = s.ring_slots;
    out.slot_bytes = s.slot_bytes;
    out.resident_layers = s.resident_layers;
    out.device_bytes = s.device_bytes;
    write_versioned(statistics, out);
  });
}

}  // extern "C"
