// EventPool: recycled CUDA events, all of one kind (timing disabled; blocking sync or not). The engine
// records a blocking one after every chunk for its watchers, and a spinning one after a request's last chunk
// for the caller's waits. Shared by the engine and by request states, which may outlive the engine.
#pragma once

#include <cuda_runtime_api.h>

#include <mutex>
#include <vector>

namespace ghtier::detail {

class EventPool {
 public:
  /// Events for `device`, created with cudaEventDisableTiming plus `flags` (e.g. cudaEventBlockingSync).
  EventPool(int device, unsigned int flags) : device_(device), flags_(flags) {}
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
  unsigned int flags_;
  std::mutex mutex_;
  std::vector<cudaEvent_t> free_;
};

}  // namespace ghtier::detail
