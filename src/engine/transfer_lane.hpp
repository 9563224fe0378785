// TransferLane: one direction of the engine (to the device, to the host, or local). It owns a copy stream per
// priority, a priority queue of jobs, a staging ring, and a dispatcher thread. Every step of its work is
// short and non-blocking under one mutex (enqueue a chunk, post a CPU copy, look at events), so the thread
// that submits can run a step itself (no thread hop for a small urgent copy), and the dispatcher thread runs
// steps whenever work is in flight, polling its events every poll_interval.
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
#include <thread>

#include "engine/copy_workers.hpp"
#include "engine/event_pool.hpp"
#include "engine/staging_buffers.hpp"
#include "engine/transfer_job.hpp"
#include "engine/transfer_queue.hpp"
#include "engine/transfer_route.hpp"
#include "ghtier/transfer_engine.hpp"
#include "ghtier/transfer_statistics.hpp"

namespace ghtier::detail {

/// Engine-wide things a lane uses; owned by the engine, outliving its lanes.
struct LaneContext {
  int device = 0;
  TransferEngineOptions options;
  std::shared_ptr<EventPool> events;
  std::function<CopyWorkers&()> workers;  ///< starts the copy threads on first use
  std::atomic<bool> batch_api_usable{true};
  std::atomic<std::uint64_t> batch_calls{0};
  std::atomic<std::uint64_t> batch_fallback_calls{0};
};

class TransferLane {
 public:
  /// Creates the lane's two streams (urgent at `greatest_priority`, background at `least_priority`) on the
  /// context's device and starts its dispatcher. Throws Error on CUDA failure.
  TransferLane(LaneId id, LaneContext& context, int greatest_priority, int least_priority);
  /// Requires shutdown() first; destroys the streams and frees the staging ring.
  ~TransferLane();
  TransferLane(const TransferLane&) = delete;
  TransferLane& operator=(const TransferLane&) = delete;

  /// Queues a job and runs a dispatch step on the calling thread (which must have the device current).
  void submit(std::shared_ptr<Job> job);
  /// Cancels jobs that have not started, lets started ones finish, and joins the dispatcher.
  void shutdown();
  /// Blocks until nothing is queued or in flight.
  void wait_idle();

  [[nodiscard]] LaneStatistics statistics() const;
  [[nodiscard]] StagingStatistics staging_statistics() const;
  [[nodiscard]] cudaStream_t stream(TransferPriority priority) const noexcept {
    return streams_[priority_index(priority)];
  }

 private:
  enum class InflightKind { direct, staged_to_device, staged_to_host };
  struct InflightChunk {
    cudaEvent_t event = nullptr;
    std::shared_ptr<Job> job;
    std::size_t bytes = 0;
    std::size_t chunk = 0;
    std::size_t slot = 0;
    InflightKind kind = InflightKind::direct;
    bool event_owned_by_state = false;  // the job's last chunk: its event is the request's completion event
    bool windowed = false;              // counts against the background window
  };
  struct PendingFill {
    std::shared_ptr<Job> job;
    std::size_t chunk = 0;
    std::size_t slot = 0;
    bool done = false;  // set by the copy threads, under mutex_
  };
  enum class StartResult { started, blocked, finished };

  void run();
  void step_locked();
  void retire_locked();
  void complete_fills_locked();
  void dispatch_locked();
  StartResult start_next_locked(const std::shared_ptr<Job>& job);
  StartResult start_direct_locked(const std::shared_ptr<Job>& job);
  StartResult start_staged_locked(const std::shared_ptr<Job>& job);
  StartResult start_host_copy_locked(const std::shared_ptr<Job>& job);
  // Honours the job's dependencies the first time one of its chunks starts: as stream waits, or (for work
  // the CPU does) by seeing them complete. False while a host-side dependency is still pending.
  bool ensure_started_locked(Job& job, cudaStream_t stream);
  void issue_batch_locked(const BatchCall& call, bool sm_kernel, cudaStream_t stream);
  StagingBuffers& staging_locked();
  void fail_job_locked(Job& job, const Error& error);
  void chunk_finished_locked(Job& job);
  void maybe_finish_job_locked(Job& job);
  [[nodiscard]] bool idle_locked() const noexcept;
  void on_drained(const std::shared_ptr<Job>& job, std::size_t chunk, std::size_t slot);

  LaneId id_;
  LaneContext& context_;
  std::array<cudaStream_t, 2> streams_{};
  std::size_t window_bytes_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  TransferQueue<std::shared_ptr<Job>> queue_;
  std::array<std::deque<InflightChunk>, 2> inflight_;  // per stream: events complete in order
  std::deque<std::shared_ptr<PendingFill>> fills_;
  std::unique_ptr<StagingBuffers> staging_;
  std::size_t window_in_flight_bytes_ = 0;
  std::size_t window_in_flight_chunks_ = 0;
  std::size_t cpu_outstanding_ = 0;  // drains and host copies posted to the copy threads
  std::size_t host_copies_in_flight_ = 0;
  bool stopping_ = false;

  // Statistics.
  std::uint64_t parts_finished_ = 0;
  std::uint64_t bytes_completed_ = 0;
  std::uint64_t chunks_started_ = 0;
  std::uint64_t bytes_staged_ = 0;
  std::size_t active_jobs_ = 0;
  std::chrono::steady_clock::time_point busy_since_{};
  double busy_seconds_ = 0;

  std::thread thread_;
};

}  // namespace ghtier::detail
