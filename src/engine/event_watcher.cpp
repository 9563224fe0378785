// EventWatcher: cudaEventSynchronize in order, on one thread.
#include "engine/event_watcher.hpp"

#include "core/log.hpp"

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

EventWatcher::EventWatcher(int device) : thread_([this, device] { run(device); }) {}

EventWatcher::~EventWatcher() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void EventWatcher::watch(cudaEvent_t event, Handler handler) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    entries_.push_back(Entry{event, std::move(handler)});
    wake = sleeping_;
  }
  if (wake) wake_.notify_one();
}

void EventWatcher::run(int device) {
  if (cudaSetDevice(device) != cudaSuccess) {
    log(LogLevel::error, "event watcher: cannot make device {} current", device);
    (void)cudaGetLastError();
  }
  cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
  if (cudaThreadExchangeStreamCaptureMode(&mode) != cudaSuccess) (void)cudaGetLastError();
  std::unique_lock lock(mutex_);
  for (;;) {
    if (entries_.empty() && !stop_) {
      sleeping_ = true;
      wake_.wait(lock, [&] { return stop_ || !entries_.empty(); });
      sleeping_ = false;
    }
    if (entries_.empty()) return;
    Entry entry = std::move(entries_.front());
    entries_.pop_front();
    lock.unlock();
    const cudaError_t status = cudaEventSynchronize(entry.event);
    if (status != cudaSuccess) (void)cudaGetLastError();
    try {
      entry.handler(status);
    } catch (const std::exception& e) {
      log(LogLevel::error, "event watcher: a completion handler threw: {}", e.what());
    } catch (...) {
      log(LogLevel::error, "event watcher: a completion handler threw an unknown exception");
    }
    lock.lock();
  }
}

}  // namespace ghtier::detail
