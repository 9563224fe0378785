// TransferLane: one direction of the engine (to the device, to the host, or local). It owns a copy stream per
// priority, a priority queue of jobs, a staging ring, a dispatcher (a serial executor), and event watchers.
// Every step of its work is short and non-blocking under one mutex (enqueue a chunk, post a CPU copy, retire
// what the watchers saw complete), so whichever thread sees progress runs a step itself: the submitter (no
// thread hop for a small urgent copy) and the watcher that saw a chunk complete. The dispatcher runs steps
// when a copy thread or the dependency watcher posts one.
#pragma once

#include <cuda_runtime_api.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "engine/batch_issue.hpp"
#include "engine/completion_wait_choice.hpp"
#include "engine/copy_workers.hpp"
#include "engine/event_pool.hpp"
#include "engine/event_watcher.hpp"
#include "engine/serial_executor.hpp"
#include "engine/staging_buffers.hpp"
#include "engine/transfer_job.hpp"
#include "engine/transfer_queue.hpp"
#include "engine/transfer_route.hpp"
#include "ghtier/engine/transfer_engine.hpp"
#include "ghtier/engine/transfer_statistics.hpp"

namespace ghtier::detail {

/// Engine-wide things a lane uses; owned by the engine, outliving its lanes.
struct LaneContext {
  int device = 0;
  TransferEngineOptions options;
  std::shared_ptr<EventPool> done_events;          ///< spin-waited: what callers wait on (fast wakeup)
  std::shared_ptr<EventPool> watched_events;       ///< blocking-sync: what the engine's watchers sleep on
  std::function<CopyWorkers&()> workers;           ///< starts the copy threads on first use
  BatchIssueState batches;                         ///< the batch API's standing and the batch counters
  CompletionWaitPolicy completion_wait;            ///< which chunks a watcher polls for (choose_completion_wait)
  std::atomic<std::uint64_t> completion_polls{0};  ///< chunks a watcher polled for
  std::atomic<std::uint64_t> completion_poll_fallbacks{0};  ///< ... of which outlasted the budget
};

class TransferLane {
 public:
  /// Creates the lane's two streams (urgent at `greatest_priority`, background at `least_priority`) on the
  /// context's device, its watchers and its dispatcher. Throws Error on CUDA failure.
  TransferLane(LaneId id, LaneContext& context, int greatest_priority, int least_priority);
  /// Shuts down if needed; destroys the streams and frees the staging ring.
  ~TransferLane();
  TransferLane(const TransferLane&) = delete;
  TransferLane& operator=(const TransferLane&) = delete;

  /// Queues a job and runs a dispatch step on the calling thread (which must have the device current). With
  /// `wait_on` (non-empty) and no dependencies yet, the job's dependency snapshot is taken here, under the
  /// lane's lock, so that snapshots and queue order agree. Throws Error if the snapshot fails.
  void submit(std::shared_ptr<Job> job, const TransferDependencies* wait_on = nullptr);
  /// Cancels jobs that have not started, lets started ones finish, and joins the dispatcher and watchers.
  void shutdown();
  /// Blocks until nothing is queued or in flight.
  void wait_idle();

  [[nodiscard]] LaneStatistics statistics() const;
  [[nodiscard]] StagingStatistics staging_statistics() const;

 private:
  enum class InflightKind { direct, staged_to_device, staged_to_host };
  struct InflightChunk {
    cudaEvent_t event = nullptr;  // blocking-sync, watched; none when the watcher polls the completion event
    std::shared_ptr<Job> job;
    std::size_t bytes = 0;
    std::size_t chunk = 0;
    std::size_t slot = 0;
    InflightKind kind = InflightKind::direct;
    bool windowed = false;  // counts against the background window
    bool complete = false;  // set by the stream's watcher
    cudaError_t status = cudaSuccess;
    const char* call = "cudaEventSynchronize";  // the call that reported status
  };
  struct PendingFill {
    std::shared_ptr<Job> job;
    std::size_t chunk = 0;
    std::size_t slot = 0;
    bool done = false;  // set by the copy threads, under mutex_
  };
  enum class StartResult { started, blocked, finished };

  // Posts one dispatcher step (a task on the dispatcher executor) unless one is already queued: copy
  // threads and the dependency watcher call it under mutex_, so the lane cannot be destroyed under them.
  void wake_dispatcher_locked();
  // A step on the thread that saw a chunk complete (a watcher), instead of waking the dispatcher for it: one
  // thread hop less per chunk, so the next chunk of a window starts sooner and a finished request is retired
  // before the caller's next submit can contend for the lock.
  void advance_locked();
  void step_locked();
  void retire_locked();
  void complete_fills_locked();
  void dispatch_locked();
  StartResult start_next_locked(const std::shared_ptr<Job>& job);
  StartResult start_direct_locked(const std::shared_ptr<Job>& job);
  StartResult start_staged_locked(const std::shared_ptr<Job>& job);
  StartResult start_host_copy_locked(const std::shared_ptr<Job>& job);
  // Honours the job's dependencies the first time one of its chunks starts: as stream waits, or (for work
  // the CPU does) by having the dependency watcher see them complete. False while that is pending.
  bool ensure_started_locked(const std::shared_ptr<Job>& job, cudaStream_t stream);
  // Hands a chunk enqueued on `stream` to the stream's watcher. For the job's last chunk it records the
  // completion event callers wait on; the watcher sleeps on a blocking-sync event recorded after the chunk,
  // or polls the completion event where choose_completion_wait says so (a short urgent job; then no blocking
  // waiter races with the caller's). `waits_for_dependency`: the stream waits for the job's dependencies
  // before this chunk. Throws Error.
  void track_chunk_locked(InflightChunk chunk, cudaStream_t stream, bool last, bool waits_for_dependency = false);
  void issue_batch_locked(const BatchCall& call, const Job& job, cudaStream_t stream);
  StagingBuffers& staging_locked();
  void fail_job_locked(Job& job, const Error& error);
  void chunk_finished_locked(Job& job);
  void maybe_finish_job_locked(Job& job);
  [[nodiscard]] bool idle_locked() const noexcept;
  // Urgent chunks on the lane's copy stream, or urgent fills on their way to it.
  [[nodiscard]] bool urgent_in_flight_locked() const noexcept;
  void on_drained(const std::shared_ptr<Job>& job, std::size_t chunk, std::size_t slot);

  std::shared_ptr<JobDependencies> snapshot_locked(const TransferDependencies& wait_on, TransferPriority priority);

  LaneId id_;
  LaneContext& context_;
  std::array<cudaStream_t, 2> streams_{};
  std::array<cudaStream_t, 2> dependency_streams_{};  // per priority: where dependency snapshots are taken
  std::size_t window_bytes_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable idle_;
  TransferQueue<std::shared_ptr<Job>> queue_;
  std::array<std::deque<std::shared_ptr<InflightChunk>>, 2> inflight_;  // per stream, in enqueue order
  std::deque<std::shared_ptr<PendingFill>> fills_;
  std::unique_ptr<StagingBuffers> staging_;
  std::size_t window_in_flight_bytes_ = 0;
  std::size_t window_in_flight_chunks_ = 0;
  std::size_t inflight_bytes_ = 0;    // bytes of every chunk in inflight_ (both streams)
  std::size_t cpu_outstanding_ = 0;   // drains and host copies posted to the copy threads
  std::size_t dependency_waits_ = 0;  // jobs whose host-side dependencies the watcher is waiting for
  std::size_t host_copies_in_flight_ = 0;
  bool stopping_ = false;
  bool stopped_ = false;
  bool step_posted_ = false;  // a dispatcher step is queued

  // Statistics.
  std::uint64_t parts_finished_ = 0;
  std::uint64_t bytes_completed_ = 0;
  std::uint64_t chunks_started_ = 0;
  std::uint64_t bytes_staged_ = 0;
  std::size_t active_jobs_ = 0;
  std::chrono::steady_clock::time_point busy_since_{};
  double busy_seconds_ = 0;

  // Declared last: destroyed (joined) first, while everything their handlers touch still exists.
  std::array<std::unique_ptr<EventWatcher>, 2> watchers_;  // one per stream: events complete in stream order
  std::unique_ptr<EventWatcher> dependency_watcher_;
  std::unique_ptr<SerialExecutor> dispatcher_;  // runs steps that no watcher or submitter ran
};

}  // namespace ghtier::detail
