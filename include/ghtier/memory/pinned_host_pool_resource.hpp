// PinnedHostPoolResource: page-locked host memory from CUDA's own pinned host memory pool (cudaMemPoolCreate
// with a HostNuma location, cudaMallocFromPoolAsync): natively stream-ordered, the alternative to
// PinnedHostResource's registered regions. Slower to reserve (docs/benchmarks.md, "Pinned host memory"), so
// it is not the runtime's default: RuntimeOptions::pinned_host.backing = PinnedBacking::cuda_pool selects it.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>

#include "ghtier/memory/host_numa_node.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

struct GHTIER_API PinnedHostPoolOptions {
  /// The GPU the memory is pinned for (the pool's device access, its context); -1 = the current device.
  int device = -1;
  /// Host NUMA node of the pool: numa_node_of_gpu (default: the GPU's node when the driver names one, else
  /// anywhere on the host), numa_node_none (anywhere on the host), or a node id.
  int numa_node = numa_node_of_gpu;
  /// Bytes reserved by the constructor (allocated from the pool, touched, freed into it); 0 = none.
  std::size_t initial_bytes = 0;
  /// Threads that fault reserved memory in (one byte a page); 0 = as many as the CPU has, at most 16.
  int touch_threads = 0;
};

/// Pooled page-locked host memory from CUDA's pinned host memory pool. allocate_async / deallocate_async are
/// cudaMallocFromPoolAsync / cudaFreeAsync on the caller's stream; allocate / deallocate use an internal
/// stream and synchronise it, so the memory is usable on return and deallocate() returns it at once (the
/// caller must have finished every piece of work that uses it). The pool grows by itself and keeps what it
/// holds (release threshold: everything) until release_unused(). The GPU reaches the memory through the
/// same pointer (UVA). Thread-safe. Alignments beyond 256 bytes are honoured by over-allocation.
class GHTIER_API PinnedHostPoolResource final : public MemoryResource {
 public:
  /// Throws Error: no_device, invalid_argument (bad device or node, touch_threads < 0, absurd
  /// initial_bytes), unsupported (a driver without pinned host pools), out_of_memory / cuda_error from the
  /// pool's creation or the initial reservation.
  explicit PinnedHostPoolResource(PinnedHostPoolOptions options = {});
  /// Waits for the internal stream, then destroys the pool. Blocks still allocated are released too: using
  /// them afterwards is the caller's bug.
  ~PinnedHostPoolResource() override;
  PinnedHostPoolResource(const PinnedHostPoolResource&) = delete;
  PinnedHostPoolResource& operator=(const PinnedHostPoolResource&) = delete;

  /// Allocates `bytes` from the pool, touches every page with touch_threads threads and frees them into it,
  /// so that later allocations find the memory pinned and faulted in. Throws Error: invalid_argument (zero
  /// or absurd), out_of_memory, cuda_error.
  void reserve(std::size_t bytes);
  /// Trims the pool to what live allocations hold. Returns the bytes given back.
  std::size_t release_unused();

  /// Bytes pinned by the pool now (cudaMemPoolAttrReservedMemCurrent).
  [[nodiscard]] std::size_t reserved_bytes() const;
  /// Bytes handed out and not yet freed (cudaMemPoolAttrUsedMemCurrent; a stream-ordered free counts once its
  /// stream reached it).
  [[nodiscard]] std::size_t used_bytes() const;
  /// The host NUMA node of the pool, or -1 when it is not bound to one.
  [[nodiscard]] int numa_node() const noexcept;
  [[nodiscard]] int device() const noexcept;

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) override;
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                     bool synchronous) noexcept override;
  [[nodiscard]] MemoryMode do_mode() const noexcept override { return MemoryMode::pinned_host; }

  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ghtier
