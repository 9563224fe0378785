// PinnedHostResource: page-locked host memory on the GPU's host NUMA node, pooled in regions of registered
// mmap memory. Reserving pinned memory is the expensive part, so a reservation maps one large region with
// huge-page advice, binds it to the node, faults it in with many threads and registers it once (what that
// saves against cudaHostAlloc: docs/benchmarks.md, "Pinned host memory"); allocations are then sub-allocated
// from it on the CPU. PinnedHostPoolResource is the other backing (CUDA's pinned host memory pool).
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>

#include "ghtier/memory/host_numa_node.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

/// Which resource serves the pinned_host mode of a Runtime (RuntimeOptions::pinned_host.backing).
enum class PinnedBacking {
  /// Default: PinnedHostResource, regions of registered mmap memory sub-allocated by ghtier's own best-fit
  /// allocator. Fastest to reserve.
  registered_mmap,
  /// PinnedHostPoolResource: CUDA's pinned host memory pool, natively stream-ordered, slower to reserve. Of
  /// these options it uses device, numa_node, initial_bytes and touch_threads.
  cuda_pool,
};

struct GHTIER_API PinnedHostOptions {
  /// The GPU the memory is pinned for (its host NUMA node, its context); -1 = the current device.
  int device = -1;
  /// Host NUMA node to bind the memory to: numa_node_of_gpu (default), numa_node_none, or a node id.
  /// The default is a preference: where binding is not permitted (e.g. a container without CAP_SYS_NICE)
  /// it is skipped with a warning; an explicit node id that cannot be bound is an error.
  int numa_node = numa_node_of_gpu;
  /// Bytes reserved by the constructor (0 = none: the first allocation grows the pool).
  std::size_t initial_bytes = 0;
  /// Size of each region added when the pool cannot satisfy an allocation (a larger request gets a region
  /// of its own size). 0 disables growth: an allocation that does not fit first waits for pending
  /// stream-ordered frees, then fails with out_of_memory.
  std::size_t growth_bytes = std::size_t{256} << 20;
  /// Advise transparent huge pages (MADV_HUGEPAGE) on the regions: fewer faults and TLB misses.
  bool huge_pages = true;
  /// Threads that fault a new region in (one byte a page); 0 = as many as the CPU has, at most 16.
  int touch_threads = 0;
  /// Read by the Runtime to choose the resource; PinnedHostResource itself accepts only registered_mmap.
  PinnedBacking backing = PinnedBacking::registered_mmap;
};

/// Pooled page-locked host memory. allocate() and allocate_async() are the same CPU-side sub-allocation
/// (host memory needs no stream ordering to become valid). deallocate() returns the block at once: the
/// caller must have finished every piece of work that uses it. deallocate_async(p, ..., stream) records an
/// event on `stream` and the block is reused only after that event completed, so work queued before the
/// call may still read or write it. The GPU reaches the memory through the same pointer (UVA).
/// Thread-safe. Alignments up to the region alignment (2 MiB with huge pages, else 4 KiB) and beyond are
/// honoured.
class GHTIER_API PinnedHostResource final : public MemoryResource {
 public:
  /// Throws Error: no_device, invalid_argument (bad device or node, touch_threads < 0, growth_bytes = 0
  /// with initial_bytes = 0, a backing other than registered_mmap), out_of_memory / cuda_error from the
  /// initial reservation.
  explicit PinnedHostResource(PinnedHostOptions options = {});
  /// Waits for pending stream-ordered frees, unregisters and unmaps every region. Blocks still allocated
  /// are released too: using them afterwards is the caller's bug.
  ~PinnedHostResource() override;
  PinnedHostResource(const PinnedHostResource&) = delete;
  PinnedHostResource& operator=(const PinnedHostResource&) = delete;

  /// Adds one pinned region of at least `bytes` (rounded up to the page or huge-page size): mmap, huge-page
  /// advice, NUMA binding, multi-threaded first touch, one cudaHostRegister. Throws Error: invalid_argument
  /// (zero or absurd), out_of_memory, cuda_error.
  void reserve(std::size_t bytes);
  /// Unregisters and unmaps the regions that hold no live allocation.
  /// Returns the bytes given back.
  std::size_t release_unused();

  /// Bytes pinned by this resource now (all regions).
  [[nodiscard]] std::size_t reserved_bytes() const;
  /// Bytes handed out and not yet freed; a block freed stream-ordered counts until its stream's work before
  /// the free has completed.
  [[nodiscard]] std::size_t used_bytes() const;
  /// Regions mapped: how often the pool grew.
  [[nodiscard]] std::size_t region_count() const;
  /// The host NUMA node the memory is bound to, or -1 when it is not bound.
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
