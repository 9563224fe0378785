// EventPool: recycled CUDA events (timing disabled: the cheapest kind to record, query and wait on). The
// engine records one after every chunk; a request's last one becomes its completion event. Shared by the
// engine and by request states, which may outlive the engine.
#pragma once

#include <cuda_runtime_api.h>

#include <mutex>
#include <vector>

namespace ghtier::detail {

class EventPool {
 public:
  explicit EventPool(int device) : device_(device) {}
  /// Destroys every pooled event.
  ~EventPool();
  EventPool(const EventPool&) = delete;
  EventPool& operator=(const EventPool&) = delete;

  /// A pooled event, or a new one (on the pool's device). Throws Error on CUDA failure.
  [[nodiscard]] cudaEvent_t acquire();
  /// Returns an event for reuse; it must not be waited on by anyone afterwards.
  void release(cudaEvent_t event) noexcept;

  [[nodiscard]] int device() const noexcept { return device_; }

 private:
  int device_;
  std::mutex mutex_;
  std::vector<cudaEvent_t> free_;
};

/// What a non-blocking look at an event found.
enum class EventState { complete, pending, error };

/// cudaEventQuery, with the not-ready status cleared from CUDA's last-error slot (it lands there). An error
/// caused by another thread's stream capture in global mode (the query is not allowed then) counts as
/// pending: ask again later. Any other error is returned as `error`, with its status in *status.
[[nodiscard]] EventState query_event(cudaEvent_t event, cudaError_t* status = nullptr) noexcept;

}  // namespace ghtier::detail
