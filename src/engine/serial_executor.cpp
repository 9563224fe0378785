// SerialExecutor: a queue, one thread, and a shutdown that never joins itself.
#include "engine/serial_executor.hpp"

#include <future>

#include "core/support/log_nothrow.hpp"

namespace ghtier::detail {

namespace {
void run_logged(const std::string& name, const SerialExecutor::Task& task) noexcept {
  try {
    task();
  } catch (const std::exception& e) {
    log_nothrow(LogLevel::error, "{}: a task threw: {}", name, e.what());
  } catch (...) {
    log_nothrow(LogLevel::error, "{}: a task threw an unknown exception", name);
  }
}
}  // namespace

SerialExecutor::SerialExecutor(std::string name, Task setup) : state_(std::make_shared<State>()) {
  state_->name = std::move(name);
  thread_ = std::thread([state = state_, setup = std::move(setup)] { run(state, setup); });
}

SerialExecutor::~SerialExecutor() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stop = true;
  }
  state_->wake.notify_all();
  if (!thread_.joinable()) return;
  if (on_thread()) {
    thread_.detach();  // we are inside a task: the thread returns to run() and ends after the queue
  } else {
    thread_.join();
  }
}

void SerialExecutor::post(Task task) {
  bool wake = false;
  {
    std::lock_guard lock(state_->mutex);
    state_->tasks.push_back(std::move(task));
    wake = state_->sleeping;
  }
  if (wake) state_->wake.notify_one();
}

void SerialExecutor::drain() {
  if (on_thread()) return;
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  post([&done] { done.set_value(); });
  finished.wait();
}

bool SerialExecutor::on_thread() const noexcept { return std::this_thread::get_id() == thread_.get_id(); }

void SerialExecutor::run(const std::shared_ptr<State>& state, const Task& setup) {
  if (setup) run_logged(state->name, setup);
  std::unique_lock lock(state->mutex);
  for (;;) {
    if (state->tasks.empty() && !state->stop) {
      state->sleeping = true;
      state->wake.wait(lock, [&] { return state->stop || !state->tasks.empty(); });
      state->sleeping = false;
    }
    if (state->tasks.empty()) return;  // stopping, and nothing left
    Task task = std::move(state->tasks.front());
    state->tasks.pop_front();
    lock.unlock();
    run_logged(state->name, task);
    task = nullptr;  // destroy what it captured outside the lock
    lock.lock();
  }
}

}  // namespace ghtier::detail
