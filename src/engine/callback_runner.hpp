// CallbackRunner: the one thread on which on_complete callbacks run, so that a slow callback (freeing a
// buffer, waking a scheduler) never holds up the engine's dispatchers or copy threads.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace ghtier::detail {

class CallbackRunner {
 public:
  /// Starts the thread; `device` is made current on it, so callbacks may call CUDA.
  explicit CallbackRunner(int device);
  /// Runs every posted callback, then joins.
  ~CallbackRunner();
  CallbackRunner(const CallbackRunner&) = delete;
  CallbackRunner& operator=(const CallbackRunner&) = delete;

  /// Queues `task`; it runs once, in posting order. Exceptions it throws are caught and logged.
  void post(std::function<void()> task);
  /// Blocks until every task posted before the call has run. No-op when called on the runner's thread.
  void drain();

 private:
  void run(int device);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ghtier::detail
