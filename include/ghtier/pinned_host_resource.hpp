// PinnedHostResource: page-locked host memory on the GPU's host NUMA node, pooled. Reserving is the
// expensive part (cudaHostAlloc of 16 GiB: 11.4 s), so a reservation maps one large region with huge-page
// advice, binds it to the node, faults it in with many threads and registers it once (0.76 s); allocations
// are then sub-allocated from it on the CPU in microseconds.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>

#include "ghtier/memory_resource.hpp"

namespace ghtier {

/// Where a PinnedHostResource gets its page-locked memory.
enum class PinnedBacking {
  /// Default: regions of mmap'd memory (MADV_HUGEPAGE, mbind to the node, multi-threaded first touch, one
  /// cudaHostRegister each), sub-allocated by ghtier's own best-fit allocator. Fastest to reserve.
  registered_mmap,
  /// CUDA's pinned host memory pool (cudaMemPoolCreate with a HostNuma location, cudaMallocFromPoolAsync):
  /// natively stream-ordered, but reserving 16 GiB took 3.8 s + 4.7 s for the first touch on the GPU
  /// machine (FACTS.md), against 0.76 s for registered_mmap. On the chosen host NUMA node when there is
  /// one, else anywhere on the host. The pool grows by itself (growth_bytes does not apply) and keeps what
  /// it holds (release threshold: everything) until release_unused().
  cuda_pool,
};

/// Node choice meaning "the GPU's host NUMA node (cudaDevAttrHostNumaId), if the driver names one".
inline constexpr int numa_node_of_gpu = -2;
/// Node choice meaning "do not bind".
inline constexpr int numa_node_none = -1;

struct PinnedHostOptions {
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
  /// stream-ordered frees, then fails with out_of_memory. registered_mmap only.
  std::size_t growth_bytes = std::size_t{256} << 20;
  /// Advise transparent huge pages (MADV_HUGEPAGE) on the regions: fewer faults and TLB misses.
  bool huge_pages = true;
  /// Threads that fault a new region in (one byte a page); 0 = as many as the CPU has, at most 16.
  int touch_threads = 0;
  PinnedBacking backing = PinnedBacking::registered_mmap;
};

/// Pooled page-locked host memory. allocate() and allocate_async() are the same CPU-side sub-allocation
/// (host memory needs no stream ordering to become valid). deallocate() returns the block at once: the
/// caller must have finished every piece of work that uses it. deallocate_async(p, ..., stream) records an
/// event on `stream` and the block is reused only after that event completed, so work queued before the
/// call may still read or write it. The GPU reaches the memory through the same pointer (UVA).
/// Thread-safe. Alignments up to the region alignment (2 MiB with huge pages, else 4 KiB) and beyond are
/// honoured.
class PinnedHostResource final : public MemoryResource {
 public:
  /// Throws Error: no_device, invalid_argument (bad device or node, touch_threads < 0, growth_bytes = 0
  /// with initial_bytes = 0), unsupported (cuda_pool on a driver without pinned host pools),
  /// out_of_memory / cuda_error from the initial reservation.
  explicit PinnedHostResource(PinnedHostOptions options = {});
  /// Waits for pending stream-ordered frees, unregisters and unmaps every region. Blocks still allocated
  /// are released too: using them afterwards is the caller's bug.
  ~PinnedHostResource() override;
  PinnedHostResource(const PinnedHostResource&) = delete;
  PinnedHostResource& operator=(const PinnedHostResource&) = delete;

  /// Adds one pinned region of at least `bytes` (rounded up to the page or huge-page size): mmap, huge-page
  /// advice, NUMA binding, multi-threaded first touch, one cudaHostRegister. For cuda_pool, allocates and
  /// touches `bytes` from the CUDA pool and frees them into it. Throws Error: invalid_argument (zero),
  /// out_of_memory, cuda_error.
  void reserve(std::size_t bytes);
  /// Unregisters and unmaps the regions that hold no live allocation (cuda_pool: trims the pool).
  /// Returns the bytes given back.
  std::size_t release_unused();

  /// Bytes pinned by this resource now (all regions, or the CUDA pool's reserved memory).
  [[nodiscard]] std::size_t reserved_bytes() const;
  /// Bytes handed out and not yet freed; a block freed stream-ordered counts until its stream's work before
  /// the free has completed.
  [[nodiscard]] std::size_t used_bytes() const;
  /// Regions mapped (registered_mmap) — how often the pool grew; 0 for cuda_pool.
  [[nodiscard]] std::size_t region_count() const;
  /// The host NUMA node the memory is bound to, or -1 when it is not bound.
  [[nodiscard]] int numa_node() const noexcept;
  [[nodiscard]] int device() const noexcept;
  [[nodiscard]] PinnedBacking backing() const noexcept;

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) override;
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                     bool synchronous) noexcept override;
  [[nodiscard]] MemoryMode do_mode() const noexcept override { return MemoryMode::pinned_host; }

  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ghtier
