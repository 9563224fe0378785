// EventWatcher: a serial executor that waits for CUDA events in the order they are handed to it and runs a handler
// for each once it has completed. It sleeps while it waits (watch: cudaEventSynchronize on a blocking-sync
// event), except where the engine chooses a bounded poll (watch_polled, choose_completion_wait): then no
// blocking waiter races with the caller's spin wait on the same completion, which some drivers delay by tens
// of microseconds. Polling is bounded because it costs a core; cudaEventQuery's "not ready" is an error code
// (compute-sanitizer's memcheck counts it unless run with --report-api-errors no, as our tests are).
#pragma once

#include <cuda_runtime_api.h>

#include <chrono>
#include <functional>
#include <memory>

#include "engine/serial_executor.hpp"

namespace ghtier::detail {

/// How a watched event ended, and through which call.
struct EventWaitResult {
  cudaError_t status = cudaSuccess;
  const char* call = "cudaEventSynchronize";  ///< the CUDA call whose status this is (for error messages)
  bool polled = false;                        ///< watch_polled: seen complete while polling
  bool fell_back = false;                     ///< watch_polled: the budget ran out, then a blocking wait
};

class EventWatcher {
 public:
  using Handler = std::function<void(const EventWaitResult&)>;

  /// Starts the thread with `device` current and stream capture mode relaxed (so another thread's global
  /// capture does not forbid its waits).
  explicit EventWatcher(int device);
  /// Waits for every watched event, runs its handler, then stops (never joining itself).
  ~EventWatcher() = default;
  EventWatcher(const EventWatcher&) = delete;
  EventWatcher& operator=(const EventWatcher&) = delete;

  /// Runs `handler` on the watcher's thread once `event` (as recorded now) has completed; the result is
  /// cudaEventSynchronize's. Events are waited for in the order watch() and watch_polled() are called. The
  /// handler must not throw (it is logged if it does). Wakes the thread only while it sleeps. `event` should
  /// be a blocking-sync one, so that the thread sleeps.
  void watch(cudaEvent_t event, Handler handler);
  /// As watch(), but polls `event` (cudaEventQuery, yielding the core between queries) for at most
  /// `budget` from when the watcher reaches it; if it has not completed by then, sleeps until it does (a
  /// blocking-sync event of the watcher's, recorded on a stream of its own that waits for `event`). `event`
  /// may be a spin-waited one and must not be recorded again until the handler has run.
  void watch_polled(cudaEvent_t event, std::chrono::microseconds budget, Handler handler);

 private:
  // The fallback's stream and event, made on the watcher's thread at the first fallback; shared with the
  // queued tasks so that a detached thread never touches a destroyed watcher.
  struct Fallback;

  std::shared_ptr<Fallback> fallback_;
  SerialExecutor executor_;  // last: joined first, while fallback_ still exists
};

/// Makes the calling thread's stream capture mode relaxed for a scope: ghtier's own CUDA calls (pointer
/// queries, event records on its streams) are then never refused because of a capture the caller has
/// running, and never invalidate it.
class RelaxedCaptureScope {
 public:
  RelaxedCaptureScope() noexcept;
  ~RelaxedCaptureScope();
  RelaxedCaptureScope(const RelaxedCaptureScope&) = delete;
  RelaxedCaptureScope& operator=(const RelaxedCaptureScope&) = delete;

 private:
  cudaStreamCaptureMode previous_ = cudaStreamCaptureModeRelaxed;
  bool changed_ = false;
};

}  // namespace ghtier::detail
