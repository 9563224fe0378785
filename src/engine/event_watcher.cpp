// EventWatcher: cudaEventSynchronize in order, on a serial executor.
#include "engine/event_watcher.hpp"

#include "core/support/fault_injector.hpp"
#include "core/support/log.hpp"

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

EventWatcher::EventWatcher(int device)
    : executor_("event watcher", [device] {
        if (cudaSetDevice(device) != cudaSuccess) {
          log(LogLevel::error, "event watcher: cannot make device {} current", device);
          (void)cudaGetLastError();
        }
        cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
        if (cudaThreadExchangeStreamCaptureMode(&mode) != cudaSuccess) (void)cudaGetLastError();
      }) {}

void EventWatcher::watch(cudaEvent_t event, Handler handler) {
  executor_.post([event, handler = std::move(handler)] {
    const cudaError_t status = GHTIER_CUDA_CALL(cudaEventSynchronize(event));
    if (status != cudaSuccess) (void)cudaGetLastError();
    handler(status);
  });
}

}  // namespace ghtier::detail
