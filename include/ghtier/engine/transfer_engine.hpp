// TransferEngine: moves bytes between any two memory tiers asynchronously, behind compute. One per device.
// Dedicated copy streams per direction at two CUDA priorities; large requests cut into chunks so that an
// urgent request overtakes a long background one within a chunk; pageable memory staged through a ring of
// pinned buffers by persistent CPU threads where the GPU cannot reach it (plain PCIe, HMM) and copied
// directly where it can (GH200, ATS); many small copies batched; graph capture for what can be captured.
// See docs/engine.md.
#pragma once

#include "ghtier/export.h"

#include <cstddef>
#include <memory>

#include "ghtier/engine/completion_token.hpp"
#include "ghtier/engine/transfer_request.hpp"
#include "ghtier/engine/transfer_statistics.hpp"
#include "ghtier/memory/allocation_record.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier {

class Runtime;

/// How a batch of small copies is carried out.
enum class BatchMechanism {
  automatic,    ///< the SM kernel for many small GPU-reachable items (where a copy engine's per-item cost
                ///< dominates), else the copy engine; see docs/engine_internals.md
  copy_engine,  ///< cudaMemcpyBatchAsync (a loop of cudaMemcpyAsync where it is refused): no SM is used
  sm_kernel,    ///< one kernel copies the items (needs every item GPU-reachable; uses SMs, no copy engine)
};

struct GHTIER_API TransferEngineOptions {
  /// Largest chunk of a copy or prefetch. Each chunk boundary costs the copy engine a few microseconds, and
  /// an urgent request waits for the background window, so this trades bandwidth against the urgent wait
  /// (measured: docs/benchmarks.md, "Figures behind defaults").
  std::size_t chunk_bytes = std::size_t{16} << 20;
  /// Background bytes in flight on a lane's copy streams at once (0: 2 chunks, one running and one queued).
  /// Small enough that an urgent request waits behind at most this many bytes of background copies; large
  /// enough that the copy engine never idles while a watcher wakes to queue the next chunk.
  std::size_t background_window_bytes = 0;
  /// Slot size of the staging rings (one ring per direction, allocated on first use).
  std::size_t staging_chunk_bytes = std::size_t{8} << 20;
  /// Slots per staging ring.
  std::size_t staging_slots = 8;
  /// Persistent CPU copy threads (staging fills and drains, host copies); 0: CopyWorkers' default for this
  /// machine (hardware threads - 4, within 2..12). Started on the first staged or host copy.
  unsigned copy_threads = 0;
  /// True: the copy threads run on the CPUs of the GPU's host NUMA node (where its pinned staging memory
  /// lives), those of them this process may use; where none is (or the node is unknown) they are left as they
  /// are, with a log line. GHTIER_COPY_THREAD_AFFINITY=0 in the environment turns it off too.
  bool copy_threads_on_gpu_node = true;
  /// Largest number of items in one batch call.
  std::size_t batch_max_items = 2048;
  BatchMechanism batch_mechanism = BatchMechanism::automatic;
  /// False: batches always go as a loop of cudaMemcpyAsync (to compare, or where the batch API misbehaves).
  bool use_batch_api = true;
  /// Longest time, in microseconds, that a watcher thread polls (spinning a core, yielding between
  /// queries) for the end of a short urgent request (its last chunk, at most 1 MiB with what is ahead of
  /// it on the lane, no dependency) before it sleeps; 0: never poll. Polling keeps a sleeping waiter from
  /// racing the caller's wait, which on some hosts delays a 4 KiB copy several-fold (see
  /// docs/engine_internals.md, "Completion"). At most 10000.
  unsigned completion_poll_us = 100;
};

/// Throws Error(invalid_argument) naming the first option out of range (sizes below 4 KiB, fewer than 2
/// staging slots, ...). The engine's constructor calls it; needs no GPU.
GHTIER_API void validate(const TransferEngineOptions& options);

/// Lifetime contracts (each holds through the C API too):
/// - An engine made over a Runtime (or given one as its lookup) shares the runtime's core (its resources, tracker and
/// mappings): the
///   Runtime object may be destroyed while the engine copies; the engine keeps checking against its
///   allocations. Runtime::quiesce() (called by the C API's runtime destroy before it frees the allocations
///   still live) waits until this engine has nothing queued or in flight.
/// - Memory the caller frees while a request still reads or writes it is the caller's error, as with
///   cudaMemcpyAsync: wait for the token (or synchronize()) first.
/// - The engine may be destroyed from its own on_complete callback: the destructor then does not wait for
///   the callback thread (which finishes the callbacks still queued and ends by itself).
/// - A process may exit with engines alive and copies in flight: an exit handler, installed by the first
///   engine, stops every live engine (queued requests cancelled, started ones finished, threads ended)
///   before CUDA tears down. Callbacks still queued then may run after it; they must not need CUDA.
/// - A request captured into a CUDA graph keeps its completion event for as long as the graph (or an
///   executable graph made from it) lives, whatever happens to its token or to the engine.
class GHTIER_API TransferEngine {
 public:
  /// An engine for `device` on `platform` (detected, or assumed in tests). With `lookup` (a tracking
  /// adaptor, a Runtime), copies that start inside a tracked allocation and run past its end are refused. A
  /// Runtime given as the lookup is treated as by the Runtime constructor (shared, registered); any other
  /// lookup must outlive the engine. Creates the copy
  /// streams, dispatchers and watchers. Throws Error: invalid_argument (options out of range, device out of
  /// range), no_device, cuda_error.
  TransferEngine(const Platform& platform, int device, const AllocationLookup* lookup = nullptr,
                 TransferEngineOptions options = {});
  /// An engine for the runtime's device and platform that checks copies against the runtime's allocations
  /// and keeps the runtime's core alive (the Runtime may be destroyed first); Runtime::quiesce() waits for
  /// its transfers. Throws as above, and Error(unsupported) for an offline runtime.
  explicit TransferEngine(const Runtime& runtime, TransferEngineOptions options = {});
  /// Shuts down: requests that have not started are cancelled (their tokens say so, their callbacks run);
  /// started ones finish. Never hangs on a request whose dependencies complete. May be called from the
  /// engine's own on_complete callback.
  ~TransferEngine();
  TransferEngine(const TransferEngine&) = delete;
  TransferEngine& operator=(const TransferEngine&) = delete;

  /// Queues a copy. If submit throws, nothing was queued and on_complete will not run. Throws Error: invalid_argument
  /// (null pointer, overlapping ranges, a range past a tracked allocation, on_complete while capturing), unsupported (a
  /// staged or host copy while the wait stream is capturing a graph), cuda_error (a pointer CUDA cannot classify). Zero
  /// bytes: a token that is already completed (its callback still runs once).
  [[nodiscard]] CompletionToken submit(const CopyRequest& request);
  /// Queues a prefetch (and applies its advice now). Throws Error: invalid_argument (null), unsupported
  /// (device or pinned memory, whose pages cannot move, and memory the platform cannot migrate), cuda_error.
  [[nodiscard]] CompletionToken submit(const PrefetchRequest& request);
  /// Queues a batch of copies as one request. Throws as submit(CopyRequest) for any item, and
  /// Error(invalid_argument) for an empty batch or overlapping destinations.
  [[nodiscard]] CompletionToken submit(const BatchCopyRequest& request);

  /// Blocks until every request submitted so far has ended and its callback has run. Must not be called from
  /// an on_complete callback.
  void synchronize();

  [[nodiscard]] TransferStatistics statistics() const;
  [[nodiscard]] const Platform& platform() const noexcept;
  [[nodiscard]] int device() const noexcept;
  [[nodiscard]] const TransferEngineOptions& options() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ghtier
