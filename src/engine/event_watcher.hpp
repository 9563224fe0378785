// EventWatcher: a thread that waits for CUDA events in the order they are handed to it and runs a handler
// for each once it has completed. The engine never polls events: cudaEventQuery reports "not ready" as an
// error code, which compute-sanitizer counts as an API error, and polling costs a core. Events given to a
// watcher should be created with cudaEventBlockingSync, so that the watcher sleeps while it waits.
#pragma once

#include <cuda_runtime_api.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace ghtier::detail {

class EventWatcher {
 public:
  using Handler = std::function<void(cudaError_t)>;

  /// Starts the thread with `device` current and stream capture mode relaxed (so another thread's global
  /// capture does not forbid its waits).
  explicit EventWatcher(int device);
  /// Waits for every watched event, runs its handler, then joins.
  ~EventWatcher();
  EventWatcher(const EventWatcher&) = delete;
  EventWatcher& operator=(const EventWatcher&) = delete;

  /// Runs `handler(status)` on the watcher's thread once `event` (as recorded now) has completed; status is
  /// cudaEventSynchronize's. Events are waited for in the order watch() is called. The handler must not throw.
  void watch(cudaEvent_t event, Handler handler);

 private:
  struct Entry {
    cudaEvent_t event;
    Handler handler;
  };
  void run(int device);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Entry> entries_;
  bool stop_ = false;
  bool sleeping_ = false;  // waiting on wake_: only then does watch() notify (a futex wake, a system call)
  std::thread thread_;
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
