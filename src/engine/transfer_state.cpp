// TransferState: outcome bookkeeping, waits (event fast path where possible), NVTX range per request.
#include "engine/transfer_state.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/support/cuda_check.hpp"
#include "core/support/log.hpp"
#include "core/support/nvtx_range.hpp"

namespace ghtier::detail {

TransferState::TransferState(std::size_t bytes, int parts, int cpu_parts, TransferCallback callback,
                             std::shared_ptr<EventPool> events, SerialExecutor* runner,
                             std::shared_ptr<EngineCounters> counters)
    : bytes_(bytes),
      parts_(parts),
      cpu_parts_(cpu_parts),
      pool_(std::move(events)),
      runner_(runner),
      counters_(std::move(counters)),
      callback_(std::move(callback)) {
  // A range from submit to the end of the request: Nsight Systems shows each request's whole life.
  nvtx_range_ = nvtx3::start_range_in<NvtxDomain>(
                    nvtx3::event_attributes{nvtx3::message{"ghtier::transfer"}, nvtx3::payload{std::uint64_t{bytes}}})
                    .get_value();
}

TransferState::~TransferState() {
  if (captured_) {
    release_graph_owned_event(graph_event_);  // the graph may still record it: never back to the pool
  } else {
    for (cudaEvent_t event : done_events_) pool_->release(event);
  }
  if (!terminal_) nvtx3::end_range_in<NvtxDomain>(nvtx3::range_handle{nvtx_range_});
}

void TransferState::add_done_event(cudaEvent_t event) {
  {
    std::lock_guard lock(mutex_);
    done_events_.push_back(event);
  }
  changed_.notify_all();
}

void TransferState::mark_captured(GraphOwnedEvent event) {
  std::unique_lock lock(mutex_);
  graph_event_ = event;  // first: released by the destructor even if push_back throws
  captured_ = true;
  done_events_.push_back(event.event);
  decide_locked(lock, TransferStatus::captured);
}

void TransferState::part_finished(TransferStatus outcome, std::optional<Error> error) {
  std::unique_lock lock(mutex_);
  ++parts_done_;
  if (outcome == TransferStatus::failed) {
    any_failed_ = true;
    if (!error_ && error) error_ = std::move(error);
  } else if (outcome == TransferStatus::cancelled) {
    any_cancelled_ = true;
  }
  if (parts_done_ < parts_ || decided_) return;
  const TransferStatus final_outcome =
      any_failed_ ? TransferStatus::failed : (any_cancelled_ ? TransferStatus::cancelled : TransferStatus::completed);
  decide_locked(lock, final_outcome);
}

void TransferState::decide_locked(std::unique_lock<std::mutex>& lock, TransferStatus outcome) {
  if (decided_) return;
  decided_ = true;
  outcome_ = outcome;
  if (counters_) {
    switch (outcome) {
      case TransferStatus::completed: counters_->completed.fetch_add(1, std::memory_order_relaxed); break;
      case TransferStatus::failed: counters_->failed.fetch_add(1, std::memory_order_relaxed); break;
      case TransferStatus::cancelled: counters_->cancelled.fetch_add(1, std::memory_order_relaxed); break;
      case TransferStatus::captured: counters_->captured.fetch_add(1, std::memory_order_relaxed); break;
      case TransferStatus::pending: break;
    }
  }
  if (callback_ && runner_) {
    TransferCallback callback = std::move(callback_);
    callback_ = nullptr;
    lock.unlock();
    // The callback runs once, then the request becomes terminal: wait() returns after the callback.
    runner_->post([self = shared_from_this(), callback = std::move(callback), outcome] {
      try {
        callback(outcome);
      } catch (...) {
        self->become_terminal(outcome);
        throw;  // the executor logs it
      }
      self->become_terminal(outcome);
    });
    lock.lock();
    return;
  }
  lock.unlock();
  become_terminal(outcome);
  lock.lock();
}

void TransferState::become_terminal(TransferStatus outcome) {
  {
    std::lock_guard lock(mutex_);
    if (terminal_) return;
    terminal_ = true;
    outcome_ = outcome;
    nvtx3::end_range_in<NvtxDomain>(nvtx3::range_handle{nvtx_range_});
  }
  changed_.notify_all();
}

bool TransferState::event_waitable_locked() const noexcept {
  return !decided_ && !callback_ && cpu_parts_ == 0 && !any_failed_ &&
         static_cast<int>(done_events_.size()) == parts_ && parts_ > 0;
}

TransferStatus TransferState::status() {
  std::lock_guard lock(mutex_);
  return terminal_ ? outcome_ : TransferStatus::pending;
}

bool TransferState::ready() {
  // No event query here: "not ready" comes back from CUDA as an error code. The engine's watchers end a
  // request as soon as its last event completes.
  std::lock_guard lock(mutex_);
  return terminal_;
}

TransferStatus TransferState::wait() {
  std::unique_lock lock(mutex_);
  while (!terminal_) {
    if (!event_waitable_locked()) {
      changed_.wait(lock);  // notified when an event part registers and when the request ends
      continue;
    }
    // Fast path: wait on the events directly (as cudaStreamSynchronize would), not for the dispatcher's poll.
    const std::vector<cudaEvent_t> events = done_events_;
    lock.unlock();
    cudaError_t failure = cudaSuccess;
    for (cudaEvent_t event : events) {
      const cudaError_t status = GHTIER_CUDA_CALL(cudaEventSynchronize(event));
      if (status != cudaSuccess && failure == cudaSuccess) failure = status;
    }
    lock.lock();
    if (decided_) continue;
    if (failure != cudaSuccess) {
      any_failed_ = true;
      error_ = Error(error_code_for(failure),
                     fmt::format("cudaEventSynchronize on a transfer's completion event failed: {} ({})",
                                 cudaGetErrorString(failure), cudaGetErrorName(failure)),
                     static_cast<int>(failure));
      decide_locked(lock, TransferStatus::failed);
    } else {
      decide_locked(lock, TransferStatus::completed);
    }
  }
  return outcome_;
}

TransferStatus TransferState::wait_for(std::chrono::nanoseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return terminal_; });
  return terminal_ ? outcome_ : TransferStatus::pending;
}

void TransferState::make_stream_wait(cudaStream_t stream) {
  std::unique_lock lock(mutex_);
  if (!captured_) {
    // Blocks only while a part is still queued (its last chunk not yet enqueued), or for requests that
    // finish on the CPU, whose end no stream can see.
    changed_.wait(lock,
                  [&] { return decided_ || (cpu_parts_ == 0 && static_cast<int>(done_events_.size()) == parts_); });
    if (decided_) {
      changed_.wait(lock, [&] { return terminal_ || outcome_ == TransferStatus::completed; });
      if (outcome_ == TransferStatus::completed) return;
      if (outcome_ == TransferStatus::failed && error_) throw_error(*error_);
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("make_stream_wait: the transfer of {} bytes was {}; its bytes will never arrive", bytes_,
                              to_string(outcome_)));
    }
  }
  const std::vector<cudaEvent_t> events = done_events_;
  lock.unlock();
  for (cudaEvent_t event : events) GHTIER_CUDA_CHECK(cudaStreamWaitEvent(stream, event, 0));
}

std::optional<Error> TransferState::error() {
  std::lock_guard lock(mutex_);
  return terminal_ && outcome_ == TransferStatus::failed ? error_ : std::nullopt;
}

}  // namespace ghtier::detail
