// ActivationOffloader: moves the activations a training step saves for its backward pass into one host
// arena behind the forward pass and back ahead of the backward pass, over a Runtime (where memory lives) and
// a TransferEngine (how it moves: D2H in the background lane, H2D in the urgent lane, so an offload never
// delays a prefetch). The plan of which layers to offload comes from plan_activations (activation_plan.hpp).
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "ghtier/engine/transfer_engine.hpp"
#include "ghtier/runtime/runtime.hpp"
#include "ghtier/workloads/activation_plan.hpp"

namespace ghtier {

/// One saved activation (or several saves of the same storage, which share one offloaded copy).
using ActivationHandle = std::uint64_t;

struct GHTIER_API ActivationOffloadOptions {
  /// Bytes of the host arena, reserved once at construction (pinned host memory bound to the GPU's host NUMA
  /// node; on GH200 the superchip's LPDDR5X). Must be > 0: it is the host budget, and a save that does not
  /// fit is refused with Error(out_of_budget) naming it.
  std::size_t host_arena_bytes = 0;
  /// Tensors below this stay on the GPU (worth_offloading() says false). 0: from the link model, the size
  /// whose copy takes min_copy_microseconds at the slower direction's rate.
  std::size_t min_offload_bytes = 0;
  /// A copy shorter than this is not worth its bookkeeping (used when min_offload_bytes is 0).
  double min_copy_microseconds = 5.0;
};

struct GHTIER_API ActivationOffloadStatistics {
  std::uint64_t saves = 0;               ///< save() calls
  std::uint64_t deduplicated_saves = 0;  ///< of them, saves of a storage already saved and still held
  std::uint64_t offloaded_bytes = 0;     ///< bytes copied out (each distinct storage once)
  std::uint64_t restored_bytes = 0;      ///< bytes copied back
  std::uint64_t live_handles = 0;
  std::size_t arena_bytes = 0;  ///< the arena's size
  std::size_t arena_used_bytes = 0;
  std::size_t arena_peak_bytes = 0;
  std::size_t min_offload_bytes = 0;  ///< the threshold in force
};

/// Thread-safe (one mutex); the hot-path calls never block the host on a copy, except where noted.
class GHTIER_API ActivationOffloader {
 public:
  /// Reserves the host arena through `runtime` (allocate_in pinned_host).
  /// The runtime and engine must outlive the offloader. Throws Error: invalid_argument (host_arena_bytes 0,
  /// an engine of another device), out_of_budget / out_of_memory (the arena cannot be reserved), unsupported
  /// (an offline runtime), cuda_error.
  ActivationOffloader(Runtime& runtime, TransferEngine& engine, const ActivationOffloadOptions& options);
  /// Waits for every copy still reading or writing the arena, then frees it. Device buffers the offloader
  /// allocated for restores are freed too: release every handle before (restored pointers die here).
  ~ActivationOffloader();
  ActivationOffloader(const ActivationOffloader&) = delete;
  ActivationOffloader& operator=(const ActivationOffloader&) = delete;

  /// Whether a tensor of `bytes` is worth offloading (bytes >= the threshold).
  [[nodiscard]] bool worth_offloading(std::size_t bytes) const noexcept;
  [[nodiscard]] std::size_t min_offload_bytes() const noexcept;

  /// Later saves belong to layer `layer` (until end_layer): prefetch_layer(layer) brings them back together.
  void begin_layer(std::uint64_t layer);
  /// Later saves belong to no layer.
  void end_layer();

  /// Queues a background D2H of [ptr, ptr + bytes) (device memory) into the arena, after the work enqueued
  /// on `stream` so far (nullptr: the legacy default stream). The caller keeps the device memory unchanged
  /// until device_released(handle) says true (poll it; it never blocks). A save of the same ptr and bytes
  /// while an earlier save of it is still held returns that save's handle (one copy; release each save).
  /// Throws Error: invalid_argument (null ptr, zero bytes), out_of_budget (the arena is full: the message
  /// names its size; nothing was queued and no state changed), what TransferEngine::submit throws.
  [[nodiscard]] ActivationHandle save(const void* ptr, std::size_t bytes, cudaStream_t stream);
  /// True once the D2H of `handle` has finished: the device memory may be reused. Throws
  /// Error(not_found) for an unknown handle; the D2H's own failure as its Error.
  [[nodiscard]] bool device_released(ActivationHandle handle);

  /// Queues the urgent H2D of `handle` into `device_dst` (the caller's device memory of at least the saved
  /// bytes), or, with nullptr, into a device buffer the offloader allocates from the runtime (freed at
  /// release). A handle already prefetched is left as it is. Throws Error: not_found, invalid_argument,
  /// out_of_budget / out_of_memory (no device buffer), what submit throws.
  void prefetch(ActivationHandle handle, void* device_dst = nullptr);
  /// prefetch(h) for every live, not yet prefetched handle saved in `layer`; returns how many were queued.
  std::size_t prefetch_layer(std::uint64_t layer);
  /// Makes `stream` wait (without blocking the host) until the handle's bytes are back on the device and
  /// returns their device pointer (valid until release). Prefetches first if that has not happened.
  /// Throws as prefetch, and the H2D's failure as its Error.
  [[nodiscard]] void* restore(ActivationHandle handle, cudaStream_t stream);
  /// Drops one save of `handle`. When the last one goes, its arena block returns to the arena once no copy
  /// touches it any more, and a device buffer the offloader allocated is freed stream-ordered on the stream
  /// of the last restore. Throws Error(not_found) for an unknown handle.
  void release(ActivationHandle handle);

  [[nodiscard]] ActivationOffloadStatistics statistics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The threshold the offloader uses by default: bytes whose copy takes `min_copy_microseconds` at the
/// slower direction's bandwidth of `link` (at least 4 KiB).
[[nodiscard]] GHTIER_API std::size_t default_min_offload_bytes(const LinkModel& link,
                                                               double min_copy_microseconds = 5.0);

}  // namespace ghtier
