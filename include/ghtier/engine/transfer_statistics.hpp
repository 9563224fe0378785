// TransferStatistics: what the engine has moved, how fast, and how busy its queues and staging ring are.
// A snapshot: plain values, safe to copy and print.
#pragma once

#include "ghtier/export.h"

#include <cstddef>
#include <cstdint>

namespace ghtier {

/// One lane of the engine: its own copy streams and dispatcher.
struct GHTIER_API LaneStatistics {
  std::uint64_t requests = 0;   ///< request parts this lane finished (completed, failed or cancelled)
  std::uint64_t bytes = 0;      ///< bytes of the parts that completed
  std::uint64_t chunks = 0;     ///< chunks (copies, prefetches, batch calls, staged slots) started
  double busy_seconds = 0;      ///< time with at least one part started and not yet finished
  double achieved_gbps = 0;     ///< bytes / busy_seconds (1e9 bytes/s); approximate (polling ends)
  std::size_t queued = 0;       ///< requests waiting for their first chunk now
  std::size_t peak_queued = 0;  ///< most requests ever queued at once
};

/// One staging ring (pinned slots that carry pageable memory across a link the GPU cannot reach directly).
struct GHTIER_API StagingStatistics {
  std::size_t slots = 0;  ///< 0 until first used (the ring is allocated lazily)
  std::size_t slot_bytes = 0;
  std::size_t slots_in_use = 0;
  std::size_t peak_slots_in_use = 0;
  std::uint64_t bytes_staged = 0;  ///< bytes that crossed the ring
};

struct GHTIER_API TransferStatistics {
  LaneStatistics to_device;  ///< host -> device copies, prefetches to the device
  LaneStatistics to_host;    ///< device -> host copies (offloads), prefetches to the host
  LaneStatistics local;      ///< device <-> device and host <-> host copies
  StagingStatistics staging_to_device;
  StagingStatistics staging_to_host;
  std::uint64_t submitted = 0;  ///< requests accepted by submit()
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t captured = 0;                   ///< recorded into a CUDA graph instead of run
  std::uint64_t batch_calls = 0;                ///< cudaMemcpyBatchAsync calls (or SM batch launches)
  std::uint64_t sm_batch_launches = 0;          ///< of which SM batch kernel launches
  std::uint64_t batch_fallback_calls = 0;       ///< batch calls that fell back to a loop of cudaMemcpyAsync
  std::uint64_t completion_polls = 0;           ///< chunks whose end a watcher polled for (short urgent requests)
  std::uint64_t completion_poll_fallbacks = 0;  ///< ... of which outlasted the poll and were waited for asleep
  std::size_t queue_depth = 0;                  ///< requests queued now, all lanes
};

}  // namespace ghtier
