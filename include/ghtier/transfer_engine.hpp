// TransferEngine: moves bytes between any two memory tiers asynchronously, behind compute. One per device.
// Dedicated copy streams per direction at two CUDA priorities; large requests cut into chunks so that an
// urgent request overtakes a long background one within a chunk; pageable memory staged through a ring of
// pinned buffers by persistent CPU threads where the GPU cannot reach it (plain PCIe, HMM) and copied
// directly where it can (GH200, ATS); many small copies batched; graph capture for what can be captured.
// See docs/engine.md.
#pragma once

#include <cstddef>
#include <memory>

#include "ghtier/allocation_record.hpp"
#include "ghtier/completion_token.hpp"
#include "ghtier/platform.hpp"
#include "ghtier/transfer_request.hpp"
#include "ghtier/transfer_statistics.hpp"

namespace ghtier {

/// How a batch of small copies is carried out.
enum class BatchMechanism {
  automatic,    ///< the SM kernel for many small GPU-reachable items (where a copy engine's per-item cost
                ///< dominates), else the copy engine; see docs/engine.md
  copy_engine,  ///< cudaMemcpyBatchAsync (a loop of cudaMemcpyAsync where it is refused): no SM is used
  sm_kernel,    ///< one kernel copies the items (needs every item GPU-reachable; uses SMs, no copy engine)
};

struct TransferEngineOptions {
  /// Largest chunk of a copy or prefetch. Each chunk boundary costs the copy engine about 3 us (measured on
  /// PCIe Gen5: 64 MiB in 16 MiB chunks runs at 0.99x one copy, in 4 MiB chunks at 0.95x), and an urgent
  /// request waits for the background window, so this trades bandwidth against the urgent wait.
  std::size_t chunk_bytes = std::size_t{16} << 20;
  /// Background bytes in flight on a lane's copy streams at once (0: 2 chunks, one running and one queued).
  /// Small enough that an urgent request is not stuck behind much (2 x 16 MiB: about 0.6 ms on PCIe); large
  /// enough that the copy engine never idles while a watcher wakes to queue the next chunk.
  std::size_t background_window_bytes = 0;
  /// Slot size of the staging rings (one ring per direction, allocated on first use).
  std::size_t staging_chunk_bytes = std::size_t{8} << 20;
  /// Slots per staging ring.
  std::size_t staging_slots = 8;
  /// Persistent CPU copy threads (staging fills and drains, host copies); 0: CopyWorkers' default for this
  /// machine (hardware threads - 4, within 2..12). Started on the first staged or host copy.
  unsigned copy_threads = 0;
  /// Largest number of items in one batch call.
  std::size_t batch_max_items = 2048;
  BatchMechanism batch_mechanism = BatchMechanism::automatic;
  /// False: batches always go as a loop of cudaMemcpyAsync (to compare, or where the batch API misbehaves).
  bool use_batch_api = true;
};

/// Throws Error(invalid_argument) naming the first option out of range (sizes below 4 KiB, fewer than 2
/// staging slots, ...). The engine's constructor calls it; needs no GPU.
void validate(const TransferEngineOptions& options);

class TransferEngine {
 public:
  /// An engine for `device` on `platform` (detected, or assumed in tests). With `lookup` (a tracking
  /// adaptor), copies that start inside a tracked allocation and run past its end are refused. Creates the
  /// copy streams and dispatcher threads. Throws Error: invalid_argument (options out of range, device out
  /// of range), no_device, cuda_error.
  TransferEngine(const Platform& platform, int device, const AllocationLookup* lookup = nullptr,
                 TransferEngineOptions options = {});
  /// Shuts down: requests that have not started are cancelled (their tokens say so, their callbacks run);
  /// started ones finish. Never hangs on a request whose dependencies complete.
  ~TransferEngine();
  TransferEngine(const TransferEngine&) = delete;
  TransferEngine& operator=(const TransferEngine&) = delete;

  /// Queues a copy. If submit throws, nothing was queued and on_complete will not run. Throws Error: invalid_argument (null pointer, overlapping ranges, a range past a
  /// tracked allocation, on_complete while capturing), unsupported (a staged or host copy while the wait
  /// stream is capturing a graph), cuda_error (a pointer CUDA cannot classify). Zero bytes: a token that is
  /// already completed (its callback still runs once).
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
