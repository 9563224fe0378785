// EventWatcher: cudaEventSynchronize in order, on a serial executor; a bounded poll where the engine asks.
#include "engine/event_watcher.hpp"

#include <thread>

#include "core/support/cuda_check.hpp"
#include "core/support/fault_injector.hpp"
#include "core/support/log.hpp"
#include "engine/live_engines.hpp"

namespace ghtier::detail {

RelaxedCaptureScope::RelaxedCaptureScope() noexcept {
  cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
  if (cudaThreadExchangeStreamCaptureMode(&mode) == cudaSuccess) {
    previous_ = mode;
    changed_ = true;
  } else {
    (void)cudaGetLastError();
  }
}

RelaxedCaptureScope::~RelaxedCaptureScope() {
  if (changed_ && cudaThreadExchangeStreamCaptureMode(&previous_) != cudaSuccess) (void)cudaGetLastError();
}

struct EventWatcher::Fallback {
  int device = 0;
  cudaStream_t stream = nullptr;
  cudaEvent_t event = nullptr;  // blocking-sync: the thread sleeps on it

  explicit Fallback(int device_in) : device(device_in) {}
  Fallback(const Fallback&) = delete;
  Fallback& operator=(const Fallback&) = delete;
  ~Fallback() {
    // At exit, after the engines' exit handler, CUDA may be torn down: the OS reclaims them.
    if ((stream == nullptr && event == nullptr) || process_exiting()) return;
    int previous = -1;
    const bool switched =
        cudaGetDevice(&previous) == cudaSuccess && previous != device && cudaSetDevice(device) == cudaSuccess;
    if (event != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(event));
    if (stream != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(stream));
    if (switched) GHTIER_CUDA_CHECK_NOTHROW(cudaSetDevice(previous));
  }

  // Sleeps until `watched` completes: this stream waits for it, and the thread for an event recorded after.
  // On the watcher's thread only (its tasks run one at a time, so the one event is never recorded twice).
  EventWaitResult wait_for(cudaEvent_t watched) {
    EventWaitResult result;
    result.fell_back = true;
    auto failed = [&](cudaError_t status, const char* call) {
      (void)cudaGetLastError();
      result.status = status;
      result.call = call;
      return status != cudaSuccess;
    };
    if (stream == nullptr &&
        failed(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags")) {
      stream = nullptr;
      return result;
    }
    if (event == nullptr && failed(cudaEventCreateWithFlags(&event, cudaEventDisableTiming | cudaEventBlockingSync),
                                   "cudaEventCreateWithFlags")) {
      event = nullptr;
      return result;
    }
    if (failed(cudaStreamWaitEvent(stream, watched, 0), "cudaStreamWaitEvent")) return result;
    if (failed(cudaEventRecord(event, stream), "cudaEventRecord")) return result;
    failed(cudaEventSynchronize(event), "cudaEventSynchronize");
    return result;
  }
};

EventWatcher::EventWatcher(int device)
    : fallback_(std::make_shared<Fallback>(device)), executor_("event watcher", [device] {
        if (cudaSetDevice(device) != cudaSuccess) {
          log(LogLevel::error, "event watcher: cannot make device {} current", device);
          (void)cudaGetLastError();
        }
        cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
        if (cudaThreadExchangeStreamCaptureMode(&mode) != cudaSuccess) (void)cudaGetLastError();
      }) {}

void EventWatcher::watch(cudaEvent_t event, Handler handler) {
  executor_.post([event, handler = std::move(handler)] {
    EventWaitResult result;
    result.status = GHTIER_CUDA_CALL(cudaEventSynchronize(event));
    if (result.status != cudaSuccess) (void)cudaGetLastError();
    handler(result);
  });
}

void EventWatcher::watch_polled(cudaEvent_t event, std::chrono::microseconds budget, Handler handler) {
  executor_.post([event, budget, fallback = fallback_, handler = std::move(handler)] {
    // The budget counts from here: events ahead of this one on the stream have completed by now.
    const auto deadline = std::chrono::steady_clock::now() + budget;
    for (;;) {
      const cudaError_t status = cudaEventQuery(event);
      if (status != cudaErrorNotReady) {
        EventWaitResult result;
        result.status = status;
        result.call = "cudaEventQuery";
        result.polled = true;
        if (status != cudaSuccess) (void)cudaGetLastError();
        handler(result);
        return;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::yield();  // a copy thread on this core gets it back at once
    }
    (void)cudaGetLastError();  // "not ready" is no failure
    handler(fallback->wait_for(event));
  });
}

}  // namespace ghtier::detail
