// How a stream watcher waits for one chunk: asleep on a blocking-sync event, or by polling the spin-waited
// completion event that the caller waits on. On some hosts the driver delays a caller's spin wait by about
// 30 us when a blocking-sync wait on the same completion ends at the same moment (measured on the GPU
// machine, 2026-11-28: a 4 KiB copy 41 us with a sleeping watcher against 8 us without), so the last chunk of
// a short urgent job is polled, with no blocking waiter; everything else sleeps, so that no core spins for
// long and an idle engine spins none.
#pragma once

#include <chrono>
#include <cstddef>

#include "ghtier/engine/transfer_request.hpp"

namespace ghtier::detail {

enum class CompletionWait {
  blocking,  ///< the watcher sleeps in cudaEventSynchronize on a blocking-sync event recorded after the chunk
  polled,    ///< the watcher polls the caller's completion event, then sleeps if it outlasts the budget
};

/// One chunk as it is enqueued on its copy stream.
struct CompletionWaitInputs {
  TransferPriority priority = TransferPriority::background;
  bool last_chunk = false;            ///< the job's last chunk: the one whose completion event callers wait on
  bool waits_for_dependency = false;  ///< the stream waits for the job's dependencies before this chunk
  std::size_t chunk_bytes = 0;
  std::size_t bytes_ahead = 0;  ///< bytes of the lane's chunks still in flight (either stream), before this one
};

/// What makes a job short enough to poll for, and how long a watcher polls before it sleeps.
struct CompletionWaitPolicy {
  /// Most bytes, this chunk's and those ahead of it on the lane, for which a poll is expected to end soon
  /// (1 MiB takes about 20 us over PCIe Gen5, a few over NVLink-C2C).
  std::size_t poll_bytes_limit = std::size_t{1} << 20;
  /// Longest poll before the watcher falls back to a blocking wait; zero: never poll.
  std::chrono::microseconds poll_budget{100};
};

struct CompletionWaitChoice {
  CompletionWait wait = CompletionWait::blocking;
  std::chrono::microseconds poll_budget{0};  ///< zero unless polled
};

/// Polls only the last chunk of an urgent job (a caller is likely waiting for it; a background job's caller
/// accepts the latency), only when no dependency may hold the stream for an unknown time, and only when this
/// chunk and what is ahead of it fit in poll_bytes_limit: the poll then costs a core for a few microseconds,
/// and at most poll_budget. Blocking otherwise.
[[nodiscard]] CompletionWaitChoice choose_completion_wait(const CompletionWaitInputs& chunk,
                                                          const CompletionWaitPolicy& policy = {});

}  // namespace ghtier::detail
