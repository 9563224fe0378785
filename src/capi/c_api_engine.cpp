// The transfer engine's C API: engine, token and host-registration handles (in the one handle registry: a
// destroyed handle is an error, not a crash), the C <-> C++ conversions, and one guarded wrapper per
// function. Arguments are checked before handles are looked up, so every bad argument
// is reported (and testable) without a GPU.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "capi/c_api_errors.hpp"
#include "capi/c_api_handles.hpp"
#include "capi/c_api_holder.hpp"
#include "capi/c_api_runtime.hpp"
#include "capi/c_api_struct_version.hpp"
#include "capi/c_enum_value.hpp"
#include "ghtier/engine/host_registration.hpp"
#include "ghtier/engine/transfer_engine.hpp"
#include "ghtier/error.hpp"
#include "ghtier/ghtier.h"

namespace ghtier::capi {

namespace {

// An engine keeps its runtime alive (the runtime is its allocation lookup).
using EngineHolder = Holder<ghtier_engine_t, TransferEngine, HandleKind::engine>;

// The engine, token and host-registration handles, in the one handle registry.
std::shared_ptr<EngineHolder> get_engine(ghtier_engine_t* handle) { return EngineHolder::get(handle, "engine"); }
std::shared_ptr<CompletionToken> get_token(ghtier_token_t* handle) {
  return get_handle<CompletionToken>(handle, HandleKind::token, "token");
}

TransferEngineOptions to_engine_options(const ghtier_engine_options_t* in) {
  TransferEngineOptions options;
  if (in == nullptr) return options;
  const ghtier_engine_options_t o =
      read_versioned(in, ghtier_engine_options_t{}, sizeof(std::size_t), "ghtier_engine_options_t* options");
  if (o.chunk_bytes != 0) options.chunk_bytes = o.chunk_bytes;
  if (o.background_window_bytes != 0) options.background_window_bytes = o.background_window_bytes;
  if (o.staging_chunk_bytes != 0) options.staging_chunk_bytes = o.staging_chunk_bytes;
  if (o.staging_slots != 0) options.staging_slots = o.staging_slots;
  if (o.batch_max_items != 0) options.batch_max_items = o.batch_max_items;
  options.copy_threads = o.copy_threads;
  switch (o.batch_mechanism) {
    case GHTIER_BATCH_AUTOMATIC: options.batch_mechanism = BatchMechanism::automatic; break;
    case GHTIER_BATCH_COPY_ENGINE: options.batch_mechanism = BatchMechanism::copy_engine; break;
    case GHTIER_BATCH_SM_KERNEL: options.batch_mechanism = BatchMechanism::sm_kernel; break;
    default:
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("options->batch_mechanism = {} is not a ghtier_batch_mechanism_t (AUTOMATIC, "
                              "COPY_ENGINE or SM_KERNEL)",
                              o.batch_mechanism));
  }
  options.use_batch_api = o.disable_batch_api == 0;
  if (o.reserved != 0) {
    throw_error(ErrorCode::invalid_argument, fmt::format("options->reserved = {}: must be 0", o.reserved));
  }
  validate(options);
  return options;
}

// What every submission shares: priority, dependencies, callback.
struct Submission {
  TransferPriority priority = TransferPriority::background;
  TransferDependencies wait_on;
  TransferCallback on_complete;
};

Submission to_submission(const ghtier_transfer_options_t* in, TransferPriority default_priority) {
  Submission s;
  s.priority = default_priority;
  if (in == nullptr) return s;
  const ghtier_transfer_options_t o =
      read_versioned(in, ghtier_transfer_options_t{}, sizeof(std::size_t), "ghtier_transfer_options_t* options");
  switch (o.priority) {
    case GHTIER_PRIORITY_DEFAULT: break;
    case GHTIER_PRIORITY_URGENT: s.priority = TransferPriority::urgent; break;
    case GHTIER_PRIORITY_BACKGROUND: s.priority = TransferPriority::background; break;
    default:
      throw_error(
          ErrorCode::invalid_argument,
          fmt::format("options->priority = {} is not a ghtier_priority_t (DEFAULT, URGENT or BACKGROUND)", o.priority));
  }
  if (o.reserved != 0) {
    throw_error(ErrorCode::invalid_argument, fmt::format("options->reserved = {}: must be 0", o.reserved));
  }
  constexpr std::size_t absurd = std::size_t{1} << 20;  // more dependencies than any real request has
  if (o.num_wait_streams > 0 && o.wait_streams == nullptr) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("options->wait_streams is NULL with num_wait_streams = {}", o.num_wait_streams));
  }
  if (o.num_wait_events > 0 && o.wait_events == nullptr) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("options->wait_events is NULL with num_wait_events = {}", o.num_wait_events));
  }
  if (o.num_wait_streams > absurd || o.num_wait_events > absurd) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("options->num_wait_streams = {} / num_wait_events = {}: absurd", o.num_wait_streams,
                            o.num_wait_events));
  }
  for (std::size_t i = 0; i < o.num_wait_streams; ++i) {
    s.wait_on.streams.push_back(ordered_stream(o.wait_streams[i]));
  }
  for (std::size_t i = 0; i < o.num_wait_events; ++i) {
    if (o.wait_events[i] == nullptr) {
      throw_error(ErrorCode::invalid_argument, fmt::format("options->wait_events[{}] is NULL", i));
    }
    s.wait_on.events.push_back(static_cast<cudaEvent_t>(o.wait_events[i]));
  }
  if (o.on_complete != nullptr) {
    const ghtier_transfer_callback_t callback = o.on_complete;
    void* user_data = o.user_data;
    s.on_complete = [callback, user_data](TransferStatus status) {
      ghtier_transfer_state_t state = GHTIER_TRANSFER_COMPLETED;
      if (status == TransferStatus::failed) state = GHTIER_TRANSFER_FAILED;
      if (status == TransferStatus::cancelled) state = GHTIER_TRANSFER_CANCELLED;
      callback(user_data, state);
    };
  }
  return s;
}

ghtier_transfer_state_t to_state(TransferStatus status) noexcept {
  switch (status) {
    case TransferStatus::pending: return GHTIER_TRANSFER_PENDING;
    case TransferStatus::completed: return GHTIER_TRANSFER_COMPLETED;
    case TransferStatus::failed: return GHTIER_TRANSFER_FAILED;
    case TransferStatus::cancelled: return GHTIER_TRANSFER_CANCELLED;
    case TransferStatus::captured: return GHTIER_TRANSFER_CAPTURED;
  }
  return GHTIER_TRANSFER_PENDING;
}

ghtier_token_t* hand_out(CompletionToken token) {
  return add_handle<ghtier_token_t>(HandleKind::token, std::make_shared<CompletionToken>(std::move(token)));
}

ghtier_lane_statistics_t to_c(const LaneStatistics& s) noexcept {
  ghtier_lane_statistics_t out{};
  out.requests = s.requests;
  out.bytes = s.bytes;
  out.chunks = s.chunks;
  out.busy_seconds = s.busy_seconds;
  out.achieved_gbps = s.achieved_gbps;
  out.queued = s.queued;
  out.peak_queued = s.peak_queued;
  return out;
}

}  // namespace

}  // namespace ghtier::capi

using ghtier::capi::guarded;

extern "C" {

ghtier_status_t ghtier_engine_create(ghtier_runtime_t* runtime, const ghtier_engine_options_t* options,
                                     ghtier_engine_t** engine) {
  return guarded("ghtier_engine_create", [&] {
    using namespace ghtier;
    capi::require_non_null(engine, "engine");
    *engine = nullptr;
    const TransferEngineOptions engine_options = capi::to_engine_options(options);
    // Over the runtime: registered with it, so that ghtier_runtime_destroy waits for this engine's copies.
    *engine = capi::EngineHolder::create(capi::gpu_runtime_of(runtime, "a transfer engine"),
                                         [&](Runtime& owner) { return TransferEngine(owner, engine_options); });
  });
}

ghtier_status_t ghtier_engine_destroy(ghtier_engine_t* engine) {
  // The engine shuts down (cancelling what has not started, finishing the rest) when the last user lets go:
  // here, unless another thread is inside a call on it right now.
  return ghtier::capi::EngineHolder::destroy("ghtier_engine_destroy", engine, "engine");
}

ghtier_status_t ghtier_engine_copy(ghtier_engine_t* engine, void* dst, const void* src, size_t bytes,
                                   const ghtier_transfer_options_t* options, ghtier_token_t** token) {
  return guarded("ghtier_engine_copy", [&] {
    using namespace ghtier;
    capi::require_non_null(token, "token");
    *token = nullptr;
    if (dst == nullptr) throw_error(ErrorCode::invalid_argument, "dst is NULL");
    if (src == nullptr) throw_error(ErrorCode::invalid_argument, "src is NULL");
    capi::Submission s = capi::to_submission(options, TransferPriority::background);
    auto c = capi::get_engine(engine);
    CopyRequest request;
    request.dst = dst;
    request.src = src;
    request.bytes = bytes;
    request.priority = s.priority;
    request.wait_on = std::move(s.wait_on);
    request.on_complete = std::move(s.on_complete);
    *token = capi::hand_out(c->object().submit(request));
  });
}

ghtier_status_t ghtier_engine_prefetch(ghtier_engine_t* engine, const void* ptr, size_t bytes,
                                       ghtier_prefetch_target_t target, const ghtier_transfer_options_t* options,
                                       ghtier_token_t** token) {
  return guarded("ghtier_engine_prefetch", [&] {
    using namespace ghtier;
    capi::require_non_null(token, "token");
    *token = nullptr;
    if (ptr == nullptr) throw_error(ErrorCode::invalid_argument, "ptr is NULL");
    PrefetchRequest request;
    switch (const int target_value = capi::c_enum_value(target)) {
      case GHTIER_PREFETCH_DEVICE: request.target = PrefetchTarget::device; break;
      case GHTIER_PREFETCH_HOST: request.target = PrefetchTarget::host; break;
      default:
        throw_error(ErrorCode::invalid_argument,
                    fmt::format("target = {} is not a ghtier_prefetch_target_t (DEVICE or HOST)", target_value));
    }
    capi::Submission s = capi::to_submission(options, TransferPriority::urgent);
    auto c = capi::get_engine(engine);
    request.ptr = ptr;
    request.bytes = bytes;
    request.priority = s.priority;
    request.wait_on = std::move(s.wait_on);
    request.on_complete = std::move(s.on_complete);
    *token = capi::hand_out(c->object().submit(request));
  });
}

ghtier_status_t ghtier_engine_copy_batch(ghtier_engine_t* engine, void* const* dsts, const void* const* srcs,
                                         const size_t* sizes, size_t count, const ghtier_transfer_options_t* options,
                                         ghtier_token_t** token) {
  return guarded("ghtier_engine_copy_batch", [&] {
    using namespace ghtier;
    capi::require_non_null(token, "token");
    *token = nullptr;
    if (count == 0) throw_error(ErrorCode::invalid_argument, "count is 0: a batch needs at least one copy");
    if (count > (std::size_t{1} << 32)) {
      throw_error(ErrorCode::invalid_argument, fmt::format("count = {} copies in one batch is absurd", count));
    }
    if (dsts == nullptr || srcs == nullptr || sizes == nullptr) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("{} is NULL with count = {}",
                              dsts == nullptr ? "dsts" : (srcs == nullptr ? "srcs" : "sizes"), count));
    }
    capi::Submission s = capi::to_submission(options, TransferPriority::background);
    auto c = capi::get_engine(engine);
    BatchCopyRequest request;
    request.items.reserve(count);
    for (std::size_t i = 0; i < count; ++i) request.items.push_back({dsts[i], srcs[i], sizes[i]});
    request.priority = s.priority;
    request.wait_on = std::move(s.wait_on);
    request.on_complete = std::move(s.on_complete);
    *token = capi::hand_out(c->object().submit(request));
  });
}

ghtier_status_t ghtier_engine_synchronize(ghtier_engine_t* engine) {
  return guarded("ghtier_engine_synchronize", [&] { ghtier::capi::get_engine(engine)->object().synchronize(); });
}

ghtier_status_t ghtier_engine_get_statistics(ghtier_engine_t* engine, ghtier_engine_statistics_t* statistics) {
  return guarded("ghtier_engine_get_statistics", [&] {
    using namespace ghtier;
    capi::check_output(statistics, "ghtier_engine_statistics_t* statistics");
    auto c = capi::get_engine(engine);
    const TransferStatistics s = c->object().statistics();
    ghtier_engine_statistics_t out{};
    out.struct_size = sizeof(out);
    out.to_device = capi::to_c(s.to_device);
    out.to_host = capi::to_c(s.to_host);
    out.local = capi::to_c(s.local);
    out.staged_to_device_bytes = s.staging_to_device.bytes_staged;
    out.staged_to_host_bytes = s.staging_to_host.bytes_staged;
    out.staging_slots_in_use = s.staging_to_device.slots_in_use + s.staging_to_host.slots_in_use;
    out.staging_peak_slots_in_use = s.staging_to_device.peak_slots_in_use + s.staging_to_host.peak_slots_in_use;
    out.submitted = s.submitted;
    out.completed = s.completed;
    out.failed = s.failed;
    out.cancelled = s.cancelled;
    out.captured = s.captured;
    out.batch_calls = s.batch_calls;
    out.batch_fallback_calls = s.batch_fallback_calls;
    out.queue_depth = s.queue_depth;
    out.sm_batch_launches = s.sm_batch_launches;
    capi::write_versioned(statistics, out);
  });
}

ghtier_status_t ghtier_token_poll(ghtier_token_t* token, int* ready) {
  return guarded("ghtier_token_poll", [&] {
    ghtier::capi::require_non_null(ready, "ready");
    *ready = ghtier::capi::get_token(token)->ready() ? 1 : 0;
  });
}

ghtier_status_t ghtier_token_wait(ghtier_token_t* token, ghtier_transfer_state_t* state) {
  return guarded("ghtier_token_wait", [&] {
    using namespace ghtier;
    auto t = capi::get_token(token);
    const TransferStatus status = t->wait();
    if (state != nullptr) *state = capi::to_state(status);
    if (status == TransferStatus::failed) {
      if (const auto failure = t->error()) ghtier::throw_error(*failure);
      throw_error(ErrorCode::internal, "the transfer failed without an error recorded");
    }
  });
}

ghtier_status_t ghtier_token_wait_on_stream(ghtier_token_t* token, void* stream) {
  return guarded("ghtier_token_wait_on_stream",
                 [&] { ghtier::capi::get_token(token)->make_stream_wait(ghtier::capi::ordered_stream(stream)); });
}

ghtier_status_t ghtier_token_destroy(ghtier_token_t* token) {
  return guarded("ghtier_token_destroy", [&] {
    using namespace ghtier::capi;
    if (token == nullptr) return;
    (void)remove_handle<ghtier::CompletionToken>(token, HandleKind::token, "token");
  });
}

ghtier_status_t ghtier_host_registration_create(void* ptr, size_t bytes, ghtier_host_registration_t** registration) {
  return guarded("ghtier_host_registration_create", [&] {
    using namespace ghtier;
    capi::require_non_null(registration, "registration");
    *registration = nullptr;
    auto r = std::make_shared<HostRegistration>(ptr, bytes);
    *registration = capi::add_handle<ghtier_host_registration_t>(capi::HandleKind::host_registration, std::move(r));
  });
}

ghtier_status_t ghtier_host_registration_destroy(ghtier_host_registration_t* registration) {
  return guarded("ghtier_host_registration_destroy", [&] {
    using namespace ghtier::capi;
    if (registration == nullptr) return;
    (void)remove_handle<ghtier::HostRegistration>(registration, HandleKind::host_registration, "registration");
  });
}

}  // extern "C"
