// EventWatcher: a serial executor that waits for CUDA events in the order they are handed to it and runs a handler
// for each once it has completed. The engine never polls events: cudaEventQuery reports "not ready" as an
// error code, which compute-sanitizer counts as an API error, and polling costs a core. Events given to a
// watcher should be created with cudaEventBlockingSync, so that the watcher sleeps while it waits.
#pragma once

#include <cuda_runtime_api.h>

#include <functional>

#include "engine/serial_executor.hpp"

namespace ghtier::detail {

class EventWatcher {
 public:
  using Handler = std::function<void(cudaError_t)>;

  /// Starts the thread with `device` current and stream capture mode relaxed (so another thread's global
  /// capture does not forbid its waits).
  explicit EventWatcher(int device);
  /// Waits for every watched event, runs its handler, then stops (never joining itself).
  ~EventWatcher() = default;
  EventWatcher(const EventWatcher&) = delete;
  EventWatcher& operator=(const EventWatcher&) = delete;

  /// Runs `handler(status)` on the watcher's thread once `event` (as recorded now) has completed; status is
  /// cudaEventSynchronize's. Events are waited for in the order watch() is called. The handler must not
  /// throw (it is logged if it does). Wakes the thread only while it sleeps.
  void watch(cudaEvent_t event, Handler handler);

 private:
  SerialExecutor executor_;
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
