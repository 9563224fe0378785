// CallbackRunner: a queue and a thread.
#include "engine/callback_runner.hpp"

#include <cuda_runtime_api.h>

#include <future>

#include "core/log.hpp"

namespace ghtier::detail {

CallbackRunner::CallbackRunner(int device) : thread_([this, device] { run(device); }) {}

CallbackRunner::~CallbackRunner() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void CallbackRunner::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void CallbackRunner::drain() {
  if (std::this_thread::get_id() == thread_.get_id()) return;
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  post([&done] { done.set_value(); });
  finished.wait();
}

void CallbackRunner::run(int device) {
  if (cudaSetDevice(device) != cudaSuccess) (void)cudaGetLastError();  // callbacks then run on device 0
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !tasks_.empty(); });
    if (tasks_.empty()) return;
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    try {
      task();
    } catch (const std::exception& e) {
      log(LogLevel::error, "a transfer's on_complete callback threw: {}", e.what());
    } catch (...) {
      log(LogLevel::error, "a transfer's on_complete callback threw an unknown exception");
    }
    lock.lock();
  }
}

}  // namespace ghtier::detail
