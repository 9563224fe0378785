// SerialExecutor: one thread that runs posted tasks one at a time, in posting order. The engine's callback
// thread, its event watchers and each lane's dispatcher are one each. One type, so that start, stop,
// exceptions and shutdown are decided once: a task that throws is logged and the executor goes on; the
// destructor runs what is queued and never joins its own thread (destroying the owner from inside a task,
// e.g. an engine destroyed in its own completion callback, detaches the thread, which finishes the queue
// and exits on its own).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace ghtier::detail {

class SerialExecutor {
 public:
  using Task = std::function<void()>;

  /// Starts the thread; it runs `setup` (e.g. make a device current) before the first task. `name` names
  /// the executor in log lines. Throws std::system_error when no thread can be started.
  explicit SerialExecutor(std::string name, Task setup = {});
  /// Runs every task posted so far (and those they post), then stops. Joins the thread, unless called on
  /// it: then the thread is detached and exits once the queue is empty. Never blocks on a task that waits
  /// for this destructor.
  ~SerialExecutor();
  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;

  /// Queues `task`. Never blocks on a running task. Wakes the thread only while it sleeps (a futex wake
  /// is a system call; a busy thread sees the task when it looks at the queue next).
  void post(Task task);
  /// Blocks until every task posted before the call has run. No-op when called on the executor's thread.
  void drain();
  /// True on the executor's own thread.
  [[nodiscard]] bool on_thread() const noexcept;

 private:
  // Shared with the thread, so a detached thread never touches a destroyed executor.
  struct State {
    std::string name;
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<Task> tasks;
    bool stop = false;
    bool sleeping = false;
  };
  static void run(const std::shared_ptr<State>& state, const Task& setup);

  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace ghtier::detail
