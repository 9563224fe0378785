// TransferState: the shared state behind a CompletionToken. The engine reports progress into it (each part
// of a request — one per lane — registers its completion event or finishes on the CPU); the token polls,
// waits, and makes streams wait on it. It outlives the engine if a token is kept, so it owns its events.
#pragma once

#include <cuda_runtime_api.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "engine/event_pool.hpp"
#include "engine/graph_owned_event.hpp"
#include "engine/serial_executor.hpp"
#include "ghtier/engine/transfer_request.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

/// Request outcomes of one engine, counted where they are decided (so also after the engine is gone).
struct EngineCounters {
  std::atomic<std::uint64_t> submitted{0};
  std::atomic<std::uint64_t> completed{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> cancelled{0};
  std::atomic<std::uint64_t> captured{0};
};

class TransferState : public std::enable_shared_from_this<TransferState> {
 public:
  /// A request of `bytes` made of `parts` parts, `cpu_parts` of which complete on the CPU (staged copies to
  /// pageable memory, host copies) rather than with a CUDA event. `runner` (the engine's) runs the callback;
  /// only engine threads decide a request that has one, so it is used only while the engine lives.
  TransferState(std::size_t bytes, int parts, int cpu_parts, TransferCallback callback,
                std::shared_ptr<EventPool> events, SerialExecutor* runner, std::shared_ptr<EngineCounters> counters);
  ~TransferState();
  TransferState(const TransferState&) = delete;
  TransferState& operator=(const TransferState&) = delete;

  // ---- engine side ----
  /// An event part has enqueued its last chunk; `event` completes with it. Takes ownership of the event.
  void add_done_event(cudaEvent_t event);
  /// A part ended (completed, failed with `error`, or cancelled). The request ends with its last part:
  /// failed if any part failed, else cancelled if any was, else completed.
  void part_finished(TransferStatus outcome, std::optional<Error> error = std::nullopt);
  /// The whole request was captured into a graph; `event` was recorded after it in the capture. The state
  /// holds the token's share of the event, which never returns to the pool (the graph owns the rest).
  void mark_captured(GraphOwnedEvent event);

  // ---- token side ----
  [[nodiscard]] TransferStatus status();
  [[nodiscard]] bool ready();
  [[nodiscard]] TransferStatus wait();
  [[nodiscard]] TransferStatus wait_for(std::chrono::nanoseconds timeout);
  void make_stream_wait(cudaStream_t stream);
  [[nodiscard]] std::optional<Error> error();
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

 private:
  // Decides the outcome once: runs the callback on the runner (then terminal) or becomes terminal now.
  void decide_locked(std::unique_lock<std::mutex>& lock, TransferStatus outcome);
  void become_terminal(TransferStatus outcome);
  // The request can be waited on through its events alone: nothing completes on the CPU, no callback
  // pending, every part has its event, no failure recorded.
  [[nodiscard]] bool event_waitable_locked() const noexcept;

  const std::size_t bytes_;
  const int parts_;
  const int cpu_parts_;
  std::shared_ptr<EventPool> pool_;
  SerialExecutor* runner_;
  std::shared_ptr<EngineCounters> counters_;
  std::uint64_t nvtx_range_ = 0;

  std::mutex mutex_;
  std::condition_variable changed_;
  TransferCallback callback_;
  std::vector<cudaEvent_t> done_events_;
  int parts_done_ = 0;
  bool any_failed_ = false;
  bool any_cancelled_ = false;
  std::optional<Error> error_;
  bool decided_ = false;
  TransferStatus outcome_ = TransferStatus::pending;
  bool terminal_ = false;
  bool captured_ = false;
  GraphOwnedEvent graph_event_{};  // captured requests: the token's share of the graph's event
};

}  // namespace ghtier::detail
