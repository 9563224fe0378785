// EventPool: a free list of events.
#include "engine/event_pool.hpp"

#include "core/support/cuda_check.hpp"
#include "engine/device_guard.hpp"
#include "engine/live_engines.hpp"

namespace ghtier::detail {

EventPool::~EventPool() {
  // At exit, after the engines' exit handler, CUDA may be torn down: the OS reclaims the events.
  if (free_.empty() || process_exiting()) return;
  int previous = -1;
  const bool switched =
      cudaGetDevice(&previous) == cudaSuccess && previous != device_ && cudaSetDevice(device_) == cudaSuccess;
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
  GHTIER_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming | flags_));
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

}  // namespace ghtier::detail
