// The activation offload C API: the planner (works on an offline runtime) and the offloader handle (in the
// one handle registry), each function one guarded wrapper. Arguments are checked before handles are looked
// up, so every bad argument is reported (and tested) without a GPU.
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "capi/c_api_errors.hpp"
#include "capi/c_api_holder.hpp"
#include "capi/c_api_runtime.hpp"
#include "capi/c_api_struct_version.hpp"
#include "ghtier/error.hpp"
#include "ghtier/ghtier_workloads.h"
#include "ghtier/workloads/activation_offload.hpp"

namespace ghtier::capi {

namespace {

// An offloader runs on an engine of its own and keeps its runtime alive.
using OffloaderHolder = Holder<ghtier_activation_offloader_t, ActivationOffloader, HandleKind::activation_offloader>;

std::shared_ptr<OffloaderHolder> get_offloader(ghtier_activation_offloader_t* handle) {
  return OffloaderHolder::get(handle, "activation offloader");
}

std::size_t budget_or_unlimited(std::size_t bytes) {
  return bytes == 0 ? std::numeric_limits<std::size_t>::max() : bytes;
}

}  // namespace

}  // namespace ghtier::capi

using namespace ghtier;
using namespace ghtier::capi;

extern "C" {

ghtier_status_t ghtier_activation_plan(ghtier_runtime_t* runtime, const ghtier_activation_plan_request_t* request,
                                       int32_t* actions, ghtier_activation_plan_result_t* result) {
  return guarded("ghtier_activation_plan", [&] {
    const ghtier_activation_plan_request_t r =
        read_versioned(request, ghtier_activation_plan_request_t{},
                       offsetof(ghtier_activation_plan_request_t, fixed_actions),  // the size before fixed_actions
                       "ghtier_activation_plan_request_t* request");
    require_non_null(actions, "actions");
    check_output(result, "ghtier_activation_plan_result_t* result");
    if (r.layers == nullptr || r.num_layers == 0) {
      throw_error(ErrorCode::invalid_argument, "request->layers is NULL or request->num_layers is 0");
    }
    ActivationPlanRequest plan_request;
    const bool link_given = r.h2d_gbps != 0 || r.d2h_gbps != 0 || r.latency_us != 0;
    if (link_given) {
      plan_request.link.h2d_gbps = r.h2d_gbps;
      plan_request.link.d2h_gbps = r.d2h_gbps;
      plan_request.link.latency_us = r.latency_us;
      plan_request.link.source = "given";
    } else {
      plan_request.link = shared_runtime_of(runtime)->platform().link;
    }
    plan_request.layers.reserve(r.num_layers);
    for (std::size_t i = 0; i < r.num_layers; ++i) {
      const ghtier_activation_layer_profile_t& l = r.layers[i];
      plan_request.layers.push_back({l.forward_seconds, l.backward_seconds,
                                     static_cast<std::size_t>(l.activation_bytes),
                                     static_cast<std::size_t>(l.input_bytes)});
    }
    plan_request.device_budget_bytes = budget_or_unlimited(r.device_budget_bytes);
    plan_request.host_budget_bytes = budget_or_unlimited(r.host_budget_bytes);
    plan_request.max_lookahead = r.max_lookahead;
    if (r.fixed_actions != nullptr) {
      plan_request.fixed_actions.reserve(r.num_layers);
      for (std::size_t i = 0; i < r.num_layers; ++i) {
        const int32_t action = r.fixed_actions[i];
        if (action < GHTIER_LAYER_KEEP || action > GHTIER_LAYER_RECOMPUTE) {
          throw_error(ErrorCode::invalid_argument,
                      fmt::format("request->fixed_actions[{}] is {}: not a ghtier_layer_action_t (0 keep, 1 offload, "
                                  "2 recompute)",
                                  i, action));
        }
        plan_request.fixed_actions.push_back(static_cast<LayerAction>(action));
      }
    }
    const ActivationPlan plan = plan_activations(plan_request);
    for (std::size_t i = 0; i < plan.actions.size(); ++i) actions[i] = static_cast<int32_t>(plan.actions[i]);
    ghtier_activation_plan_result_t out{};
    out.struct_size = sizeof(out);
    out.prefetch_lookahead = plan.prefetch_lookahead;
    out.fits_budget = plan.fits_budget ? 1 : 0;
    out.step_seconds = plan.predicted.step_seconds;
    out.forward_seconds = plan.predicted.forward_seconds;
    out.backward_seconds = plan.predicted.backward_seconds;
    out.bound_seconds = plan.predicted.bound_seconds;
    out.peak_device_bytes = plan.predicted.peak_device_bytes;
    out.offloaded_bytes = plan.predicted.offloaded_bytes;
    out.recomputed_layers = plan.predicted.recomputed_layers;
    out.keep_all_step_seconds = plan.keep_all.step_seconds;
    out.keep_all_peak_device_bytes = plan.keep_all.peak_device_bytes;
    out.recompute_all_step_seconds = plan.recompute_all.step_seconds;
    out.recompute_all_peak_device_bytes = plan.recompute_all.peak_device_bytes;
    write_versioned(result, out);
  });
}

ghtier_status_t ghtier_activation_offloader_create(ghtier_runtime_t* runtime,
                                                   const ghtier_activation_offload_options_t* options,
                                                   ghtier_activation_offloader_t** offloader) {
  if (offloader != nullptr) *offloader = nullptr;
  return guarded("ghtier_activation_offloader_create", [&] {
    require_non_null(offloader, "offloader");
    const ghtier_activation_offload_options_t o =
        read_versioned(options, ghtier_activation_offload_options_t{}, sizeof(std::size_t) * 2,
                       "ghtier_activation_offload_options_t* options");
    if (o.host_arena_bytes == 0) {
      throw_error(ErrorCode::invalid_argument,
                  "options->host_arena_bytes is 0: give the host budget for offloaded activations");
    }
    if (!(o.min_copy_microseconds >= 0) || !std::isfinite(o.min_copy_microseconds)) {
      throw_error(
          ErrorCode::invalid_argument,
          fmt::format("options->min_copy_microseconds = {}: must be a finite number >= 0", o.min_copy_microseconds));
    }
    ActivationOffloadOptions cpp_options;
    cpp_options.host_arena_bytes = o.host_arena_bytes;
    cpp_options.min_offload_bytes = o.min_offload_bytes;
    if (o.min_copy_microseconds != 0) cpp_options.min_copy_microseconds = o.min_copy_microseconds;
    *offloader = OffloaderHolder::create_with_engine(gpu_runtime_of(runtime, "the activation offloader"), cpp_options);
  });
}

ghtier_status_t ghtier_activation_offloader_destroy(ghtier_activation_offloader_t* offloader) {
  return OffloaderHolder::destroy("ghtier_activation_offloader_destroy", offloader, "activation offloader");
}

ghtier_status_t ghtier_activation_offloader_begin_layer(ghtier_activation_offloader_t* offloader, uint64_t layer) {
  return guarded("ghtier_activation_offloader_begin_layer",
                 [&] { get_offloader(offloader)->object().begin_layer(layer); });
}

ghtier_status_t ghtier_activation_offloader_end_layer(ghtier_activation_offloader_t* offloader) {
  return guarded("ghtier_activation_offloader_end_layer", [&] { get_offloader(offloader)->object().end_layer(); });
}

ghtier_status_t ghtier_activation_offloader_save(ghtier_activation_offloader_t* offloader, const void* ptr,
                                                 size_t bytes, void* stream, uint64_t* handle) {
  return guarded("ghtier_activation_offloader_save", [&] {
    require_non_null(handle, "handle");
    require_non_null(ptr, "ptr");
    if (bytes == 0) throw_error(ErrorCode::invalid_argument, "bytes is 0: nothing to save");
    *handle = get_offloader(offloader)->object().save(ptr, bytes, ordered_stream(stream));
  });
}

ghtier_status_t ghtier_activation_offloader_device_released(ghtier_activation_offloader_t* offloader, uint64_t handle,
                                                            int* released) {
  return guarded("ghtier_activation_offloader_device_released", [&] {
    require_non_null(released, "released");
    *released = get_offloader(offloader)->object().device_released(handle) ? 1 : 0;
  });
}

ghtier_status_t ghtier_activation_offloader_prefetch(ghtier_activation_offloader_t* offloader, uint64_t handle,
                                                     void* device_dst) {
  return guarded("ghtier_activation_offloader_prefetch",
                 [&] { get_offloader(offloader)->object().prefetch(handle, device_dst); });
}

ghtier_status_t ghtier_activation_offloader_prefetch_layer(ghtier_activation_offloader_t* offloader, uint64_t layer,
                                                           size_t* queued) {
  return guarded("ghtier_activation_offloader_prefetch_layer", [&] {
    const std::size_t n = get_offloader(offloader)->object().prefetch_layer(layer);
    if (queued != nullptr) *queued = n;
  });
}

ghtier_status_t ghtier_activation_offloader_restore(ghtier_activation_offloader_t* offloader, uint64_t handle,
                                                    void* stream, void** device_ptr) {
  return guarded("ghtier_activation_offloader_restore", [&] {
    require_non_null(device_ptr, "device_ptr");
    *device_ptr = get_offloader(offloader)->object().restore(handle, ordered_stream(stream));
  });
}

ghtier_status_t ghtier_activation_offloader_release(ghtier_activation_offloader_t* offloader, uint64_t handle) {
  return guarded("ghtier_activation_offloader_release", [&] { get_offloader(offloader)->object().release(handle); });
}

ghtier_status_t ghtier_activation_offloader_get_statistics(ghtier_activation_offloader_t* offloader,
                                                           ghtier_activation_offload_statistics_t* statistics) {
  return guarded("ghtier_activation_offloader_get_statistics", [&] {
    check_output(statistics, "ghtier_activation_offload_statistics_t* statistics");
    const ActivationOffloadStatistics s = get_offloader(offloader)->object().statistics();
    ghtier_activation_offload_statistics_t out{};
    out.struct_size = sizeof(out);
    out.saves = s.saves;
    out.deduplicated_saves = s.deduplicated_saves;
    out.offloaded_bytes = s.offloaded_bytes;
    out.restored_bytes = s.restored_bytes;
    out.live_handles = s.live_handles;
    out.arena_bytes = s.arena_bytes;
    out.arena_used_bytes = s.arena_used_bytes;
    out.arena_peak_bytes = s.arena_peak_bytes;
    out.min_offload_bytes = s.min_offload_bytes;
    write_versioned(statistics, out);
  });
}

}  // extern "C"
