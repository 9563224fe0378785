// Job: one lane's part of a request, as the lane's dispatcher works through it chunk by chunk. A copy whose
// two sides need different lanes never happens (a copy has one route); a batch is split into one job per
// route. Plain data, owned by shared_ptr because chunks in flight refer to their job.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "engine/batch_builder.hpp"
#include "engine/chunk_planner.hpp"
#include "engine/event_pool.hpp"
#include "engine/staging_ring.hpp"
#include "engine/transfer_state.hpp"
#include "ghtier/engine/transfer_request.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

enum class JobKind {
  copy,       ///< cudaMemcpyAsync per chunk
  prefetch,   ///< cudaMemPrefetchAsync per chunk
  batch,      ///< one batch call per chunk
  staged,     ///< through the lane's staging ring, CPU threads on the pageable side
  host_copy,  ///< CPU threads only
};

/// What the parts of a request wait for: one event, recorded at submit on the lane's dependency stream after
/// that stream was made to wait for the caller's events and streams (a snapshot: the caller may record its
/// events again or destroy them at once). A blocking-sync event, so that a watcher can sleep on it.
struct JobDependencies {
  cudaEvent_t snapshot = nullptr;
  std::shared_ptr<EventPool> pool;

  JobDependencies() = default;
  JobDependencies(const JobDependencies&) = delete;
  JobDependencies& operator=(const JobDependencies&) = delete;
  ~JobDependencies() {
    if (pool) pool->release(snapshot);
  }
};

struct Job {
  std::shared_ptr<TransferState> state;
  std::shared_ptr<JobDependencies> dependencies;
  JobKind kind = JobKind::copy;
  TransferPriority priority = TransferPriority::background;
  StagingDirection staging = StagingDirection::to_device;
  std::byte* dst = nullptr;
  const std::byte* src = nullptr;
  std::size_t bytes = 0;
  std::vector<Chunk> chunks;     ///< copy, prefetch, staged, host_copy
  std::vector<BatchCall> calls;  ///< batch
  bool sm_batch = false;
  /// cudaMemcpyBatchAsync may be used: no item touches managed or system memory, for which the call wants
  /// location hints ghtier does not have (such items go as a loop of cudaMemcpyAsync).
  bool batch_api = true;
  cudaMemLocation location{};  ///< prefetch target

  // Dispatch progress (guarded by the lane's mutex).
  std::size_t next = 0;                 ///< next chunk or call to start
  std::size_t unfinished = 0;           ///< started, not yet finished (in flight, filling, draining, copying)
  bool started = false;                 ///< dependencies honoured (enqueued as stream waits, or seen complete)
  bool dependencies_requested = false;  ///< the dependency watcher was asked to wait for them
  bool dependencies_ready = false;      ///< ... and saw them complete
  bool all_started = false;             ///< nothing left to start (every chunk started, or the job failed)
  bool finished = false;
  std::optional<Error> error;

  [[nodiscard]] std::size_t count() const noexcept { return kind == JobKind::batch ? calls.size() : chunks.size(); }
  [[nodiscard]] std::size_t bytes_of(std::size_t i) const noexcept {
    return kind == JobKind::batch ? calls[i].bytes : chunks[i].bytes;
  }
  /// The CPU side must see the dependencies complete before it touches memory (fills, host copies).
  [[nodiscard]] bool waits_on_host() const noexcept {
    return kind == JobKind::host_copy || (kind == JobKind::staged && staging == StagingDirection::to_device);
  }
};

}  // namespace ghtier::detail
