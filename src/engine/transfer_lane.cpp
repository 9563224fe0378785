// TransferLane: the dispatch loop. Urgent jobs start at once; background jobs keep at most a window of
// bytes on the copy stream, so an urgent job waits for about a chunk. Staged jobs pipeline through the ring:
// to the device, CPU threads fill slot k+1 while the DMA empties slot k; to the host, the DMA fills slots
// ahead while CPU threads drain the ones that have landed. Completion comes from watchers that sleep on
// blocking-sync events, except the last chunk of a short urgent job, which its watcher polls for a bounded
// time (choose_completion_wait).
#include "engine/transfer_lane.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/support/cuda_check.hpp"
#include "core/support/log.hpp"
#include "core/support/nvtx_range.hpp"
#include "engine/batch_issue.hpp"
#include "engine/device_guard.hpp"

namespace ghtier::detail {

namespace {
// Two fills queued keep every copy thread busy while the dispatcher enqueues the previous slot's DMA.
constexpr std::size_t max_pending_fills = 2;
constexpr std::size_t max_host_copies_in_flight = 2;
// Chunks of background work in flight, whatever their size (many tiny chunks would otherwise fill a lane).
constexpr std::size_t max_window_chunks = 256;

Error cuda_failure(cudaError_t status, const char* what) {
  return Error(error_code_for(status),
               fmt::format("{} failed: {} ({})", what, cudaGetErrorString(status), cudaGetErrorName(status)),
               static_cast<int>(status));
}
}  // namespace

TransferLane::TransferLane(LaneId id, LaneContext& context, int greatest_priority, int least_priority)
    : id_(id), context_(context) {
  window_bytes_ = context_.options.background_window_bytes != 0 ? context_.options.background_window_bytes
                                                                : 2 * context_.options.chunk_bytes;
  DeviceGuard guard(context_.device);
  const std::array<int, 2> priorities{greatest_priority, least_priority};
  auto destroy_streams = [&] {
    for (auto* streams : {&streams_, &dependency_streams_}) {
      for (cudaStream_t& stream : *streams) {
        if (stream != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(stream));
        stream = nullptr;
      }
    }
  };
  try {
    for (std::size_t i = 0; i < 2; ++i) {
      GHTIER_CUDA_CHECK(cudaStreamCreateWithPriority(&streams_[i], cudaStreamNonBlocking, priorities[i]));
      GHTIER_CUDA_CHECK(cudaStreamCreateWithPriority(&dependency_streams_[i], cudaStreamNonBlocking, priorities[i]));
    }
    for (auto& watcher : watchers_) watcher = std::make_unique<EventWatcher>(context_.device);
    dependency_watcher_ = std::make_unique<EventWatcher>(context_.device);
    dispatcher_ = std::make_unique<SerialExecutor>(fmt::format("transfer lane {} dispatcher", to_string(id_)), [this] {
      if (cudaSetDevice(context_.device) != cudaSuccess) {
        log(LogLevel::error, "transfer lane {}: cannot make device {} current", to_string(id_), context_.device);
        (void)cudaGetLastError();
      }
      // Another thread's global capture must not forbid the lane's calls: relaxed for the thread's life.
      cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
      if (cudaThreadExchangeStreamCaptureMode(&mode) != cudaSuccess) (void)cudaGetLastError();
    });
  } catch (...) {
    dispatcher_.reset();
    for (auto& watcher : watchers_) watcher.reset();
    dependency_watcher_.reset();
    destroy_streams();
    throw;
  }
}

TransferLane::~TransferLane() {
  shutdown();
  int previous = -1;
  const bool switched = cudaGetDevice(&previous) == cudaSuccess && previous != context_.device &&
                        cudaSetDevice(context_.device) == cudaSuccess;
  for (auto* streams : {&streams_, &dependency_streams_}) {
    for (cudaStream_t stream : *streams) {
      if (stream == nullptr) continue;
      GHTIER_CUDA_CHECK_NOTHROW(cudaStreamSynchronize(stream));
      GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(stream));
    }
  }
  staging_.reset();
  if (switched) GHTIER_CUDA_CHECK_NOTHROW(cudaSetDevice(previous));
}

std::shared_ptr<JobDependencies> TransferLane::snapshot_locked(const TransferDependencies& wait_on,
                                                               TransferPriority priority) {
  const cudaStream_t stream = dependency_streams_[priority_index(priority)];
  auto snapshot = std::make_shared<JobDependencies>();
  for (cudaEvent_t event : wait_on.events) GHTIER_CUDA_CHECK(cudaStreamWaitEvent(stream, event, 0));
  for (cudaStream_t other : wait_on.streams) {
    // The caller's stream as it is now: an event recorded on it, waited for by the dependency stream. The
    // wait is enqueued before the event goes back to the pool, so a later record does not change it.
    cudaEvent_t marker = context_.watched_events->acquire();
    try {
      GHTIER_CUDA_CHECK(cudaEventRecord(marker, other));
      GHTIER_CUDA_CHECK(cudaStreamWaitEvent(stream, marker, 0));
    } catch (...) {
      context_.watched_events->release(marker);
      throw;
    }
    context_.watched_events->release(marker);
  }
  snapshot->snapshot = context_.watched_events->acquire();
  snapshot->pool = context_.watched_events;
  GHTIER_CUDA_CHECK(cudaEventRecord(snapshot->snapshot, stream));
  return snapshot;
}

void TransferLane::submit(std::shared_ptr<Job> job, const TransferDependencies* wait_on) {
  std::lock_guard lock(mutex_);
  if (stopping_ || stopped_) {
    throw_error(ErrorCode::unsupported,
                fmt::format("transfer lane {} has shut down (the engine is being destroyed, or the process is "
                            "exiting): the request was not queued",
                            to_string(id_)));
  }
  if (wait_on != nullptr && !job->dependencies && (!wait_on->events.empty() || !wait_on->streams.empty())) {
    job->dependencies = snapshot_locked(*wait_on, job->priority);
  }
  const TransferPriority priority = job->priority;
  queue_.push(std::move(job), priority);
  // Run a step here: an urgent copy (or a background one on an idle lane) is enqueued before submit()
  // returns, with no thread hop. No need to wake the dispatcher: whatever this step could not start waits
  // for a chunk, fill, drain or dependency to complete, and each of those wakes it.
  step_locked();
  if (idle_locked()) idle_.notify_all();  // e.g. a job that failed at once: synchronize() must not wait on
}

void TransferLane::shutdown() {
  std::vector<std::shared_ptr<Job>> cancelled;
  {
    std::lock_guard lock(mutex_);
    if (stopped_ || stopping_) return;
    // Jobs that have not started are cancelled; partly started ones stay queued and finish.
    for (auto& job : queue_.take_all()) {
      if (job->next == 0 && !job->started) {
        job->all_started = true;
        job->finished = true;
        cancelled.push_back(std::move(job));
      } else {
        const TransferPriority priority = job->priority;
        queue_.push(std::move(job), priority);
      }
    }
    stopping_ = true;
  }
  for (auto& job : cancelled) job->state->part_finished(TransferStatus::cancelled);
  std::unique_ptr<SerialExecutor> dispatcher;
  {
    // Started jobs finish: watchers and copy threads keep advancing the lane (each posts a dispatcher step).
    std::unique_lock lock(mutex_);
    wake_dispatcher_locked();
    idle_.wait(lock, [&] { return idle_locked(); });
    dispatcher = std::move(dispatcher_);  // no step is posted from here on
  }
  dispatcher.reset();  // runs a step still queued (it finds nothing to do), then joins
  // Nothing is in flight any more: the watchers have nothing left to wait for.
  for (auto& watcher : watchers_) watcher.reset();
  dependency_watcher_.reset();
  std::lock_guard lock(mutex_);
  stopped_ = true;
  idle_.notify_all();
}

void TransferLane::wait_idle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return idle_locked() || stopped_; });
}

bool TransferLane::urgent_in_flight_locked() const noexcept {
  if (!inflight_[priority_index(TransferPriority::urgent)].empty()) return true;
  for (const auto& fill : fills_) {
    if (fill->job->priority == TransferPriority::urgent) return true;
  }
  return false;
}

bool TransferLane::idle_locked() const noexcept {
  return queue_.empty() && inflight_[0].empty() && inflight_[1].empty() && fills_.empty() && cpu_outstanding_ == 0 &&
         dependency_waits_ == 0;
}

void TransferLane::wake_dispatcher_locked() {
  if (step_posted_ || !dispatcher_) return;
  step_posted_ = true;
  dispatcher_->post([this] {
    std::lock_guard lock(mutex_);
    step_posted_ = false;
    step_locked();
    if (idle_locked()) idle_.notify_all();
  });
}

void TransferLane::advance_locked() {
  step_locked();
  if (idle_locked()) {
    idle_.notify_all();  // wait_idle() and shutdown()
  }
}

void TransferLane::step_locked() {
  try {
    retire_locked();
    complete_fills_locked();
    dispatch_locked();
  } catch (const Error& e) {  // first: OutOfMemoryError is not caught as std::exception (see error.hpp)
    // Each job's own failures are caught where they happen; this is a bug or an allocation failure.
    log(LogLevel::error, "transfer lane {}: dispatch step failed: {}", to_string(id_), e.what());
  } catch (const std::exception& e) {
    log(LogLevel::error, "transfer lane {}: dispatch step failed: {}", to_string(id_), e.what());
  }
}

// ---------------------------------------------------------------------------------------------------------
// Completion

void TransferLane::retire_locked() {
  for (auto& fifo : inflight_) {
    while (!fifo.empty() && fifo.front()->complete) {
      const std::shared_ptr<InflightChunk> done = fifo.front();
      fifo.pop_front();
      Job& job = *done->job;
      context_.watched_events->release(done->event);
      inflight_bytes_ -= done->bytes;
      if (done->windowed) {
        window_in_flight_bytes_ -= done->bytes;
        --window_in_flight_chunks_;
      }
      const bool failed = done->status != cudaSuccess;
      if (failed && !job.error) {
        job.error = cuda_failure(done->status, fmt::format("a transfer chunk ({})", done->call).c_str());
      }
      switch (done->kind) {
        case InflightKind::direct: break;
        case InflightKind::staged_to_device:
          staging_->ring().release(done->slot);
          if (!failed) bytes_staged_ += done->bytes;
          break;
        case InflightKind::staged_to_host: {
          staging_->ring().start_drain(done->slot);
          if (failed) {
            staging_->ring().release(done->slot);
            break;
          }
          // The slot holds the chunk now: CPU threads copy it out to the pageable destination.
          ++cpu_outstanding_;
          const Chunk& chunk = job.chunks[done->chunk];
          context_.workers().post_copy(
              job.dst + chunk.offset, staging_->slot(done->slot), chunk.bytes,
              [this, job = done->job, c = done->chunk, slot = done->slot] { on_drained(job, c, slot); });
          continue;  // the chunk finishes when it is drained
        }
      }
      chunk_finished_locked(job);
    }
  }
}

// Runs on a copy thread. It notifies while holding the mutex: once the lane sees the work done it may be
// destroyed, so nothing of it may be touched after the unlock.
void TransferLane::on_drained(const std::shared_ptr<Job>& job, std::size_t chunk, std::size_t slot) {
  std::lock_guard lock(mutex_);
  staging_->ring().release(slot);
  bytes_staged_ += job->chunks[chunk].bytes;
  --cpu_outstanding_;
  chunk_finished_locked(*job);
  wake_dispatcher_locked();
}

void TransferLane::track_chunk_locked(InflightChunk chunk, cudaStream_t stream, bool last, bool waits_for_dependency) {
  const std::size_t index = stream == streams_[0] ? 0 : 1;
  Job& job = *chunk.job;
  CompletionWaitInputs inputs;
  inputs.priority = job.priority;
  inputs.last_chunk = last;
  inputs.waits_for_dependency = waits_for_dependency;
  inputs.chunk_bytes = chunk.bytes;
  inputs.bytes_ahead = inflight_bytes_;
  const CompletionWaitChoice choice = choose_completion_wait(inputs, context_.completion_wait);
  const bool polled = choice.wait == CompletionWait::polled;
  cudaEvent_t done = nullptr;
  cudaEvent_t watched = nullptr;
  try {
    if (!polled) {
      watched = context_.watched_events->acquire();
      GHTIER_CUDA_CHECK(cudaEventRecord(watched, stream));
    }
    if (last) {
      // A spin-waited event for the caller: its wait() wakes as fast as cudaStreamSynchronize would.
      done = context_.done_events->acquire();
      GHTIER_CUDA_CHECK(cudaEventRecord(done, stream));
    }
  } catch (...) {
    context_.watched_events->release(watched);
    context_.done_events->release(done);
    throw;
  }
  chunk.event = watched;
  auto entry = std::make_shared<InflightChunk>(std::move(chunk));
  inflight_[index].push_back(entry);
  inflight_bytes_ += entry->bytes;
  ++job.unfinished;
  if (entry->windowed) {
    window_in_flight_bytes_ += entry->bytes;
    ++window_in_flight_chunks_;
  }
  auto on_complete = [this, entry](const EventWaitResult& result) {
    if (result.polled || result.fell_back) {
      context_.completion_polls.fetch_add(1, std::memory_order_relaxed);
      if (result.fell_back) context_.completion_poll_fallbacks.fetch_add(1, std::memory_order_relaxed);
    }
    std::lock_guard lock(mutex_);
    entry->complete = true;
    entry->status = result.status;
    entry->call = result.call;
    advance_locked();
  };
  // The completion event belongs to the request's state, which the entry keeps alive (entry -> job -> state)
  // until the handler has run: the polled event is never recycled under the watcher.
  if (polled) {
    watchers_[index]->watch_polled(done, choice.poll_budget, std::move(on_complete));
  } else {
    watchers_[index]->watch(watched, std::move(on_complete));
  }
  if (last) job.state->add_done_event(done);
}

void TransferLane::complete_fills_locked() {
  // In order: the DMAs of one job go onto its stream in chunk order.
  while (!fills_.empty() && fills_.front()->done) {
    const std::shared_ptr<PendingFill> fill = fills_.front();
    fills_.pop_front();
    Job& job = *fill->job;
    StagingRing& ring = staging_->ring();
    --job.unfinished;  // the fill is over; the DMA below is tracked as a chunk of its own
    if (job.error) {
      ring.start_dma(fill->slot);
      ring.release(fill->slot);
      maybe_finish_job_locked(job);
      continue;
    }
    const Chunk& chunk = job.chunks[fill->chunk];
    const cudaStream_t stream = streams_[priority_index(job.priority)];
    try {
      NvtxRange range("ghtier::transfer_chunk", chunk.bytes);
      GHTIER_CUDA_CHECK(
          cudaMemcpyAsync(job.dst + chunk.offset, staging_->slot(fill->slot), chunk.bytes, cudaMemcpyDefault, stream));
      ring.start_dma(fill->slot);
      InflightChunk tracked;
      tracked.job = fill->job;
      tracked.bytes = chunk.bytes;
      tracked.chunk = fill->chunk;
      tracked.slot = fill->slot;
      tracked.kind = InflightKind::staged_to_device;
      track_chunk_locked(std::move(tracked), stream, fill->chunk + 1 == job.count());
    } catch (const Error& e) {
      if (ring.state(fill->slot) == SlotState::filling) ring.start_dma(fill->slot);
      ring.release(fill->slot);
      fail_job_locked(job, e);
      maybe_finish_job_locked(job);
    }
  }
}

void TransferLane::chunk_finished_locked(Job& job) {
  --job.unfinished;
  maybe_finish_job_locked(job);
}

void TransferLane::maybe_finish_job_locked(Job& job) {
  if (job.finished || !job.all_started || job.unfinished != 0) return;
  job.finished = true;
  ++parts_finished_;
  if (!job.error) bytes_completed_ += job.bytes;
  if (job.started && --active_jobs_ == 0) {
    busy_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - busy_since_).count();
  }
  if (job.error) {
    job.state->part_finished(TransferStatus::failed, job.error);
  } else {
    job.state->part_finished(TransferStatus::completed);
  }
}

void TransferLane::fail_job_locked(Job& job, const Error& error) {
  if (!job.error) job.error = error;
  job.all_started = true;
  log(LogLevel::warn, "transfer lane {}: a {}-byte request failed: {}", to_string(id_), job.bytes, error.what());
}

// ---------------------------------------------------------------------------------------------------------
// Dispatch

void TransferLane::dispatch_locked() {
  for (;;) {
    bool progress = false;
    for (TransferPriority priority : priorities_in_order) {
      // Stream priorities order kernels, not copies: a copy engine runs the chunks of both streams of a
      // direction first come, first served (measured: an urgent copy waited for 4 GiB of background whose
      // window was always refilled). So no background chunk starts while urgent ones are in flight; the
      // urgent request then waits at most for the background window already queued.
      if (priority == TransferPriority::background && urgent_in_flight_locked()) continue;
      std::shared_ptr<Job>* front = queue_.front_of(priority);
      if (front == nullptr) continue;
      const std::shared_ptr<Job> job = *front;
      const StartResult result = start_next_locked(job);
      if (job->all_started) {
        queue_.pop_front(priority);
        maybe_finish_job_locked(*job);
      }
      if (result != StartResult::blocked) {
        progress = true;
        break;  // look at the urgent queue again before the next chunk
      }
    }
    if (!progress) return;
  }
}

TransferLane::StartResult TransferLane::start_next_locked(const std::shared_ptr<Job>& job) {
  if (job->error || job->next >= job->count()) {
    job->all_started = true;
    return StartResult::finished;
  }
  switch (job->kind) {
    case JobKind::copy:
    case JobKind::prefetch:
    case JobKind::batch: return start_direct_locked(job);
    case JobKind::staged: return start_staged_locked(job);
    case JobKind::host_copy: return start_host_copy_locked(job);
  }
  return StartResult::blocked;
}

bool TransferLane::ensure_started_locked(const std::shared_ptr<Job>& job_ptr, cudaStream_t stream) {
  Job& job = *job_ptr;
  if (job.started) return true;
  if (const JobDependencies* deps = job.dependencies.get(); deps != nullptr) {
    if (job.waits_on_host()) {
      // The CPU touches the memory: it must see the dependencies complete. The dependency watcher sleeps on
      // the snapshot and wakes the lane.
      if (!job.dependencies_requested) {
        job.dependencies_requested = true;
        ++dependency_waits_;
        dependency_watcher_->watch(deps->snapshot, [this, job_ptr](const EventWaitResult& result) {
          const cudaError_t status = result.status;
          std::lock_guard lock(mutex_);  // notify under the lock: see on_drained
          --dependency_waits_;
          job_ptr->dependencies_ready = true;
          if (status != cudaSuccess && !job_ptr->error) {
            job_ptr->error = cuda_failure(status, "waiting for a dependency (cudaEventSynchronize)");
          }
          wake_dispatcher_locked();
        });
      }
      if (!job.dependencies_ready) return false;
      if (job.error) throw_error(*job.error);
    } else {
      GHTIER_CUDA_CHECK(cudaStreamWaitEvent(stream, deps->snapshot, 0));
    }
  }
  job.started = true;
  if (active_jobs_++ == 0) busy_since_ = std::chrono::steady_clock::now();
  return true;
}

TransferLane::StartResult TransferLane::start_direct_locked(const std::shared_ptr<Job>& job) {
  const std::size_t bytes = job->bytes_of(job->next);
  const bool windowed = job->priority == TransferPriority::background;
  if (windowed && window_in_flight_chunks_ > 0 &&
      (window_in_flight_bytes_ + bytes > window_bytes_ || window_in_flight_chunks_ >= max_window_chunks)) {
    return StartResult::blocked;
  }
  const std::size_t index = job->next;
  const cudaStream_t stream = streams_[priority_index(job->priority)];
  try {
    const bool waits_for_dependency = !job->started && job->dependencies != nullptr;
    ensure_started_locked(job, stream);
    NvtxRange range("ghtier::transfer_chunk", bytes);
    switch (job->kind) {
      case JobKind::copy: {
        const Chunk& chunk = job->chunks[index];
        GHTIER_CUDA_CHECK(
            cudaMemcpyAsync(job->dst + chunk.offset, job->src + chunk.offset, chunk.bytes, cudaMemcpyDefault, stream));
        break;
      }
      case JobKind::prefetch: {
        const Chunk& chunk = job->chunks[index];
        GHTIER_CUDA_CHECK(cudaMemPrefetchAsync(job->src + chunk.offset, chunk.bytes, job->location, 0, stream));
        break;
      }
      case JobKind::batch: issue_batch_locked(job->calls[index], *job, stream); break;
      case JobKind::staged:
      case JobKind::host_copy: break;
    }
    InflightChunk tracked;
    tracked.job = job;
    tracked.bytes = bytes;
    tracked.chunk = index;
    tracked.kind = InflightKind::direct;
    tracked.windowed = windowed;
    track_chunk_locked(std::move(tracked), stream, index + 1 == job->count(), waits_for_dependency);
  } catch (const Error& e) {
    fail_job_locked(*job, e);
    return StartResult::finished;
  }
  ++job->next;
  ++chunks_started_;
  if (job->next == job->count()) job->all_started = true;
  return StartResult::started;
}

StagingBuffers& TransferLane::staging_locked() {
  if (!staging_) {
    staging_ = std::make_unique<StagingBuffers>(context_.options.staging_slots, context_.options.staging_chunk_bytes);
  }
  return *staging_;
}

TransferLane::StartResult TransferLane::start_staged_locked(const std::shared_ptr<Job>& job) {
  const std::size_t index = job->next;
  const Chunk& chunk = job->chunks[index];
  const cudaStream_t stream = streams_[priority_index(job->priority)];
  try {
    if (job->staging == StagingDirection::to_device) {
      if (fills_.size() >= max_pending_fills) return StartResult::blocked;
      if (!ensure_started_locked(job, stream)) return StartResult::blocked;
      StagingBuffers& staging = staging_locked();
      const std::optional<std::size_t> slot = staging.ring().acquire(StagingDirection::to_device);
      if (!slot) return StartResult::blocked;
      auto fill = std::make_shared<PendingFill>(PendingFill{job, index, *slot, false});
      fills_.push_back(fill);
      ++job->unfinished;  // until the fill is over (complete_fills_locked)
      ++job->next;
      ++chunks_started_;
      if (job->next == job->count()) job->all_started = true;
      context_.workers().post_copy(staging.slot(*slot), job->src + chunk.offset, chunk.bytes, [this, fill] {
        std::lock_guard lock(mutex_);  // notify under the lock: see on_drained
        fill->done = true;
        wake_dispatcher_locked();
      });
      return StartResult::started;
    }
    // To the host: DMA into a free slot now; CPU threads drain it once the DMA has landed (retire_locked).
    StagingBuffers& staging = staging_locked();
    const std::size_t slot = staging.ring().next();
    if (staging.ring().state(slot) != SlotState::free) return StartResult::blocked;
    ensure_started_locked(job, stream);
    {
      NvtxRange range("ghtier::transfer_chunk", chunk.bytes);
      GHTIER_CUDA_CHECK(
          cudaMemcpyAsync(staging.slot(slot), job->src + chunk.offset, chunk.bytes, cudaMemcpyDefault, stream));
    }
    (void)staging.ring().acquire(StagingDirection::to_host);
    InflightChunk tracked;
    tracked.job = job;
    tracked.bytes = chunk.bytes;
    tracked.chunk = index;
    tracked.slot = slot;
    tracked.kind = InflightKind::staged_to_host;
    try {
      track_chunk_locked(std::move(tracked), stream, false);  // the job ends on the CPU, not with an event
    } catch (...) {
      staging.ring().start_drain(slot);
      staging.ring().release(slot);
      throw;
    }
    ++job->next;
    ++chunks_started_;
    if (job->next == job->count()) job->all_started = true;
    return StartResult::started;
  } catch (const Error& e) {
    fail_job_locked(*job, e);
    return StartResult::finished;
  }
}

TransferLane::StartResult TransferLane::start_host_copy_locked(const std::shared_ptr<Job>& job) {
  if (host_copies_in_flight_ >= max_host_copies_in_flight) return StartResult::blocked;
  try {
    if (!ensure_started_locked(job, nullptr)) return StartResult::blocked;
  } catch (const Error& e) {
    fail_job_locked(*job, e);
    return StartResult::finished;
  }
  const std::size_t index = job->next;
  const Chunk& chunk = job->chunks[index];
  ++job->unfinished;
  ++job->next;
  ++chunks_started_;
  ++host_copies_in_flight_;
  ++cpu_outstanding_;
  if (job->next == job->count()) job->all_started = true;
  context_.workers().post_copy(job->dst + chunk.offset, job->src + chunk.offset, chunk.bytes, [this, job] {
    std::lock_guard lock(mutex_);  // notify under the lock: see on_drained
    --host_copies_in_flight_;
    --cpu_outstanding_;
    chunk_finished_locked(*job);
    wake_dispatcher_locked();
  });
  return StartResult::started;
}

void TransferLane::issue_batch_locked(const BatchCall& call, const Job& job, cudaStream_t stream) {
  const BatchIssueMode mode = job.sm_batch                                        ? BatchIssueMode::sm_kernel
                              : (job.batch_api && context_.options.use_batch_api) ? BatchIssueMode::batch_api
                                                                                  : BatchIssueMode::memcpy_loop;
  issue_batch_call(call, mode, context_.batches, stream);
}

// ---------------------------------------------------------------------------------------------------------
// Statistics

LaneStatistics TransferLane::statistics() const {
  std::lock_guard lock(mutex_);
  LaneStatistics s;
  s.requests = parts_finished_;
  s.bytes = bytes_completed_;
  s.chunks = chunks_started_;
  s.busy_seconds = busy_seconds_;
  if (active_jobs_ > 0) {
    s.busy_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - busy_since_).count();
  }
  s.achieved_gbps = s.busy_seconds > 0 ? static_cast<double>(s.bytes) / s.busy_seconds * 1e-9 : 0;
  s.queued = queue_.size();
  s.peak_queued = queue_.peak_size();
  return s;
}

StagingStatistics TransferLane::staging_statistics() const {
  std::lock_guard lock(mutex_);
  StagingStatistics s;
  if (staging_) {
    s.slots = staging_->ring().slots();
    s.slot_bytes = staging_->slot_bytes();
    s.slots_in_use = staging_->ring().in_use();
    s.peak_slots_in_use = staging_->ring().peak_in_use();
  }
  s.bytes_staged = bytes_staged_;
  return s;
}

}  // namespace ghtier::detail
