// WorkerPool: one queue, N threads, spin-then-sleep, a shutdown that never joins itself.
#include "engine/worker_pool.hpp"

#include "core/support/log_nothrow.hpp"
#include "ghtier/error.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ghtier::detail {

namespace {
inline void cpu_relax() noexcept {
#if defined(__x86_64__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}
}  // namespace

WorkerPool::WorkerPool(std::string name, unsigned threads, std::chrono::microseconds spin, Task thread_setup)
    : state_(std::make_shared<State>()) {
  if (threads == 0) throw_error(ErrorCode::invalid_argument, fmt::format("{}: thread count is zero", name));
  state_->name = std::move(name);
  state_->spin = spin;
  threads_.reserve(threads);
  try {
    for (unsigned i = 0; i < threads; ++i)
      threads_.emplace_back([state = state_, thread_setup] { run(state, thread_setup); });
  } catch (...) {
    stop_and_join();
    throw;
  }
}

WorkerPool::~WorkerPool() { stop_and_join(); }

void WorkerPool::stop_and_join() noexcept {
  {
    std::lock_guard lock(state_->mutex);
    state_->stop = true;
  }
  state_->wake.notify_all();
  for (auto& t : threads_) {
    if (!t.joinable()) continue;
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // called from a task: this worker ends after the queue, on its own
    } else {
      t.join();
    }
  }
}

void WorkerPool::post(std::vector<Task> tasks) {
  if (tasks.empty()) return;
  {
    std::lock_guard lock(state_->mutex);
    for (auto& task : tasks) state_->tasks.push_back(std::move(task));
    state_->queued.fetch_add(tasks.size(), std::memory_order_release);
  }
  if (tasks.size() == 1) {
    state_->wake.notify_one();
  } else {
    state_->wake.notify_all();
  }
}

void WorkerPool::post(Task task) {
  std::vector<Task> one;
  one.push_back(std::move(task));
  post(std::move(one));
}

bool WorkerPool::take(State& state, Task& task) {
  std::lock_guard lock(state.mutex);
  if (state.tasks.empty()) return false;
  task = std::move(state.tasks.front());
  state.tasks.pop_front();
  state.queued.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

void WorkerPool::run(const std::shared_ptr<State>& state, const Task& thread_setup) {
  if (thread_setup) {
    try {
      thread_setup();
    } catch (const std::exception& e) {
      log_nothrow(LogLevel::warn, "{}: a thread's setup threw: {}", state->name, e.what());
    } catch (...) {
      log_nothrow(LogLevel::warn, "{}: a thread's setup threw an unknown exception", state->name);
    }
  }
  for (;;) {
    Task task;
    if (!take(*state, task)) {
      // Spin a little: work often arrives right after the last task finished.
      bool found = false;
      if (state->spin.count() > 0) {
        const auto until = std::chrono::steady_clock::now() + state->spin;
        while (std::chrono::steady_clock::now() < until) {
          for (int i = 0; i < 64; ++i) cpu_relax();
          if (state->queued.load(std::memory_order_acquire) > 0 && take(*state, task)) {
            found = true;
            break;
          }
        }
      }
      if (!found) {
        std::unique_lock lock(state->mutex);
        state->wake.wait(lock, [&] { return state->stop || !state->tasks.empty(); });
        if (state->tasks.empty()) return;  // stopping, and nothing left
        task = std::move(state->tasks.front());
        state->tasks.pop_front();
        state->queued.fetch_sub(1, std::memory_order_relaxed);
      }
    }
    try {
      task();
    } catch (const std::exception& e) {
      log_nothrow(LogLevel::error, "{}: a task threw: {}", state->name, e.what());
    } catch (...) {
      log_nothrow(LogLevel::error, "{}: a task threw an unknown exception", state->name);
    }
  }
}

}  // namespace ghtier::detail
