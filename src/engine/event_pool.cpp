// EventPool and query_event.
#include "engine/event_pool.hpp"

#include "core/cuda_check.hpp"
#include "engine/device_guard.hpp"

namespace ghtier::detail {

EventPool::~EventPool() {
  if (free_.empty()) return;
  int previous = -1;
  const bool switched = cudaGetDevice(&previous) == cudaSuccess && previous != device_ &&
                        cudaSetDevice(device_) == cudaSuccess;
  for (cudaEvent_t event : free_) GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(event));
  if (switched) GHTIER_CUDA_CHECK_NOTHROW(cudaSetDevice(previous));
}

cudaEvent_t EventPool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      cudaEvent_t event = free_.back();
      free_.pop_back();
      return event;
    }
  }
  DeviceGuard guard(device_);
  cudaEvent_t event = nullptr;
  GHTIER_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  return event;
}

void EventPool::release(cudaEvent_t event) noexcept {
  if (event == nullptr) return;
  try {
    std::lock_guard lock(mutex_);
    free_.push_back(event);
  } catch (...) {
    GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(event));
  }
}

EventState query_event(cudaEvent_t event, cudaError_t* status) noexcept {
  const cudaError_t result = cudaEventQuery(event);
  if (status != nullptr) *status = result;
  switch (result) {
    case cudaSuccess: return EventState::complete;
    case cudaErrorNotReady:
    case cudaErrorStreamCaptureUnsupported:
    case cudaErrorStreamCaptureImplicit:
    case cudaErrorStreamCaptureWrongThread:
      (void)cudaGetLastError();  // these are not failures of ours: do not leave them for the next check
      return EventState::pending;
    default: return EventState::error;
  }
}

}  // namespace ghtier::detail
