// WorkerPool: a fixed set of threads that take posted tasks from one queue, in any order across threads.
// The engine's CPU copy threads are one. One type, so that start, stop, exceptions and shutdown are decided
// once: a task that throws is logged and the pool goes on; the destructor runs what is queued and never
// joins the thread it is called on (that one is detached and ends after the queue). Workers may spin a
// little before sleeping, for work that arrives in quick succession (the next chunk's pieces).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ghtier::detail {

class WorkerPool {
 public:
  using Task = std::function<void()>;

  /// Starts `threads` threads (throws Error(invalid_argument) for 0; std::system_error, after stopping
  /// those started, when a thread cannot start). An idle worker spins for `spin` before it sleeps. Each thread
  /// first runs `thread_setup` (e.g. its CPU affinity); one that throws is logged and the thread goes on.
  WorkerPool(std::string name, unsigned threads, std::chrono::microseconds spin = std::chrono::microseconds{0},
             Task thread_setup = {});
  /// Runs every queued task, then joins the threads (detaching the calling one if it is a worker).
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Queues tasks; each runs once on some worker. Never blocks on a running task.
  void post(std::vector<Task> tasks);
  void post(Task task);

  [[nodiscard]] unsigned threads() const noexcept { return static_cast<unsigned>(threads_.size()); }

 private:
  // Shared with the threads, so a detached worker never touches a destroyed pool.
  struct State {
    std::string name;
    std::chrono::microseconds spin{0};
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<Task> tasks;
    std::atomic<std::size_t> queued{0};
    bool stop = false;
  };
  static void run(const std::shared_ptr<State>& state, const Task& thread_setup);
  static bool take(State& state, Task& task);
  void stop_and_join() noexcept;

  std::shared_ptr<State> state_;
  std::vector<std::thread> threads_;
};

}  // namespace ghtier::detail
