// WeightStreamer: runs a model whose weights do not fit the device budget. The caller registers layers (each
// a list of weight tensors in host memory: pinned, or system memory on GH200), a device budget and a pass
// order; plan_weights (weight_plan.hpp) splits the budget into resident layers and a ring of device slots;
// acquire() hands out device pointers after the layer's copy (queuing the next layers' copies) and release()
// lets the slot be reused once the stream's work is done. The budget can change between passes.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ghtier/engine/transfer_engine.hpp"
#include "ghtier/runtime/runtime.hpp"
#include "ghtier/workloads/weight_plan.hpp"

namespace ghtier {

/// One weight tensor's bytes in host memory. The streamer never writes them (the weights are frozen).
struct GHTIER_API WeightTensor {
  const void* host = nullptr;
  std::size_t bytes = 0;
};

/// One layer: its tensors (acquire returns one device pointer per tensor, in this order) and, when known,
/// its compute time with the weights in device memory (the planner hides copies behind it; 0: unknown).
struct GHTIER_API WeightLayer {
  std::vector<WeightTensor> tensors;
  double compute_seconds = 0;
};

/// Whether kernels may read a layer's host weights in place instead of from a copy.
enum class WeightInPlaceReads {
  automatic,  ///< where the platform reads host memory coherently (GH200: ATS over NVLink-C2C)
  on,         ///< also elsewhere: the caller ensures every tensor is pinned (device-mapped) memory
  off,
};

struct GHTIER_API WeightStreamerOptions {
  /// Device bytes for weights: resident layers plus the ring. At least minimum_weight_budget (one ring slot
  /// for the largest layer, 256-byte aligned tensors included).
  std::size_t device_budget_bytes = 0;
  std::size_t max_slots = 8;  ///< most ring slots the planner tries
  WeightInPlaceReads in_place = WeightInPlaceReads::automatic;
  bool hedge_compute = false;  ///< the layers' compute times are estimates: see WeightPlanRequest::hedge_compute
};

struct GHTIER_API WeightStreamerStatistics {
  std::uint64_t acquires = 0;
  std::uint64_t prefetch_copies = 0;  ///< background copies queued ahead of use
  std::uint64_t urgent_copies = 0;    ///< copies of a layer that was not in a slot when acquired
  std::uint64_t copied_bytes = 0;     ///< host -> device, prefetches, urgent copies and promotions
  std::uint64_t budget_changes = 0;
  std::uint64_t promoted_layers = 0;      ///< made resident by a budget change
  std::uint64_t demoted_layers = 0;       ///< no longer resident after a budget change
  double last_budget_change_seconds = 0;  ///< wall time of the last set_budget, promotion copies included
  std::size_t ring_slots = 0;
  std::size_t slot_bytes = 0;
  std::size_t resident_layers = 0;
  std::size_t device_bytes = 0;  ///< device memory the streamer holds now
};

/// Thread-safe (one mutex). Host calls never wait for a copy, except set_budget and the destructor.
class GHTIER_API WeightStreamer {
 public:
  /// Plans, reserves the ring and the resident layers' device memory through `runtime`, and queues the
  /// resident layers' copies. The runtime and engine must outlive the streamer; the host tensors must stay
  /// valid and unchanged while it lives. Throws Error: invalid_argument (no layers, a layer without
  /// tensors, a null or empty tensor, an engine of another device), out_of_budget (a budget below the
  /// minimum: the message gives it), out_of_memory, unsupported (an offline runtime), cuda_error.
  WeightStreamer(Runtime& runtime, TransferEngine& engine, std::vector<WeightLayer> layers,
                 const WeightStreamerOptions& options);
  /// Waits for the copies in flight and the work that released layers, then frees the device memory.
  ~WeightStreamer();
  WeightStreamer(const WeightStreamer&) = delete;
  WeightStreamer& operator=(const WeightStreamer&) = delete;

  [[nodiscard]] std::size_t layer_count() const noexcept;

  /// Makes `stream` wait (the host does not) until layer `layer`'s weights are on the device and returns one
  /// device pointer per tensor (host pointers for a layer read in place), valid until release. Queues the
  /// copies of the streamed layers that follow in the pass order; a layer that was not prefetched (the
  /// order changed) is copied at once with urgent priority. nullptr: the legacy default stream. Throws
  /// Error: not_found (an unknown layer), out_of_budget (every slot holds an acquired layer), what
  /// TransferEngine::submit throws, and a failed copy's Error.
  [[nodiscard]] std::vector<void*> acquire(std::size_t layer, cudaStream_t stream);
  /// The layer's slot may be reused once the work enqueued on `stream` so far is done (an event, no host
  /// wait). Throws Error: not_found (an unknown layer), invalid_argument (not acquired: a release twice).
  void release(std::size_t layer, cudaStream_t stream);

  /// The order passes touch the layers (a subset, each once; it repeats): forward by default, the reverse
  /// for a backward pass. Prefetch follows it. Throws Error(invalid_argument) for a bad order.
  void set_order(std::vector<std::size_t> order);

  /// Re-plans for a new budget between passes (no layer acquired): demoted layers' device memory is freed,
  /// promoted layers are copied in (set_budget waits for those copies), what stays is kept in place (ring
  /// slots included). Throws Error: out_of_budget (below the minimum: the message gives it; nothing
  /// changed), invalid_argument (a layer is acquired; nothing changed), out_of_memory, cuda_error.
  void set_budget(std::size_t device_budget_bytes);

  /// The plan in force.
  [[nodiscard]] WeightPlan plan() const;
  /// The request the planner got (layer sizes with alignment, the link, the budget).
  [[nodiscard]] WeightPlanRequest plan_request() const;
  [[nodiscard]] WeightStreamerStatistics statistics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ghtier
