// PinnedHostResource: regions of registered mmap memory carved up by RangeAllocator (or CUDA's pinned host
// pool, as an option). Stream-ordered frees wait for an event recorded on the caller's stream.
#include "ghtier/pinned_host_resource.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "core/aligned_block_map.hpp"
#include "core/allocation_checks.hpp"
#include "core/cuda_check.hpp"
#include "core/device_selection.hpp"
#include "core/host_mapping.hpp"
#include "core/log_nothrow.hpp"
#include "core/numa_binding.hpp"
#include "core/nvtx_range.hpp"
#include "core/page_toucher.hpp"
#include "core/range_allocator.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {
constexpr std::size_t cuda_pool_alignment = 256;
// Sub-allocation granule: CUDA's own allocation alignment, so default-aligned requests never pad.
constexpr std::size_t block_granule = default_alignment;
}  // namespace

class PinnedHostResource::Impl {
 public:
  explicit Impl(const PinnedHostOptions& options);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void* allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous);
  void deallocate(void* p, std::size_t alignment, cudaStream_t stream, bool synchronous) noexcept;
  void reserve(std::size_t bytes);
  std::size_t release_unused();
  [[nodiscard]] std::size_t reserved_bytes() const;
  [[nodiscard]] std::size_t used_bytes() const;
  [[nodiscard]] std::size_t region_count() const;
  [[nodiscard]] int numa_node() const noexcept { return numa_node_.load(std::memory_order_relaxed); }
  [[nodiscard]] int device() const noexcept { return device_; }
  [[nodiscard]] PinnedBacking backing() const noexcept { return options_.backing; }

 private:
  struct PendingFree {
    void* p;
    cudaEvent_t event;
  };

  // registered_mmap
  void* allocate_from_regions(std::size_t bytes, std::size_t alignment);
  void add_region_locked(std::size_t bytes);
  void bind_region(void* p, std::size_t bytes);
  void release_block(void* p) noexcept;
  void reclaim_completed() noexcept;
  bool wait_for_pending() noexcept;
  cudaEvent_t acquire_event() noexcept;
  void retire_event(cudaEvent_t event) noexcept;
  // cuda_pool
  void create_cuda_pool();
  void* allocate_from_cuda_pool(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous);
  void free_to_cuda_pool(void* p, std::size_t alignment, cudaStream_t stream, bool synchronous) noexcept;

  PinnedHostOptions options_;
  int device_;
  bool node_was_requested_ = false;  // an explicit node: failing to bind is an error, not a warning
  std::atomic<int> numa_node_{-1};
  std::size_t region_alignment_;

  mutable std::mutex regions_mutex_;  // guards regions_ and serialises growth
  std::map<void*, detail::HostMapping> regions_;
  detail::RangeAllocator allocator_{block_granule};

  std::mutex pending_mutex_;  // guards pending_ and idle_events_
  std::vector<PendingFree> pending_;
  std::vector<cudaEvent_t> idle_events_;
  std::atomic<std::size_t> pending_count_{0};

  cudaMemPool_t pool_ = nullptr;
  cudaStream_t stream_ = nullptr;
  detail::AlignedBlockMap over_aligned_;
};

PinnedHostResource::Impl::Impl(const PinnedHostOptions& options)
    : options_(options),
      device_(detail::resolve_device(options.device, "PinnedHostResource")),
      region_alignment_(options.huge_pages ? detail::huge_page_bytes : detail::base_page_bytes()) {
  if (options.touch_threads < 0) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("PinnedHostResource: touch_threads = {} (must be >= 0; 0 = automatic)",
                            options.touch_threads));
  }
  if (options.initial_bytes > detail::max_allocation_bytes || options.growth_bytes > detail::max_allocation_bytes) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("PinnedHostResource: initial_bytes = {} / growth_bytes = {} is absurd",
                            options.initial_bytes, options.growth_bytes));
  }
  if (options.backing == PinnedBacking::registered_mmap && options.growth_bytes == 0 && options.initial_bytes == 0) {
    throw Error(ErrorCode::invalid_argument,
                "PinnedHostResource: growth_bytes = 0 (no growth) needs initial_bytes > 0, else nothing can be "
                "allocated");
  }
  if (options.backing != PinnedBacking::registered_mmap && options.backing != PinnedBacking::cuda_pool) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("PinnedHostResource: unknown backing {}", static_cast<int>(options.backing)));
  }
  if (options.numa_node == numa_node_of_gpu) {
    int node = -1;
    const cudaError_t status = cudaDeviceGetAttribute(&node, cudaDevAttrHostNumaId, device_);
    if (status != cudaSuccess) {
      (void)cudaGetLastError();  // an older driver does not know the attribute: no node to prefer
      node = -1;
    }
    numa_node_ = node >= 0 ? node : -1;
  } else if (options.numa_node == numa_node_none) {
    numa_node_ = -1;
  } else if (options.numa_node >= 0) {
    numa_node_ = options.numa_node;
    node_was_requested_ = true;
  } else {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("PinnedHostResource: numa_node = {} (use a node id, numa_node_of_gpu or numa_node_none)",
                            options.numa_node));
  }

  if (options.backing == PinnedBacking::cuda_pool) create_cuda_pool();
  try {
    if (options.initial_bytes > 0) reserve(options.initial_bytes);
  } catch (...) {
    if (stream_ != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(stream_));
    if (pool_ != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaMemPoolDestroy(pool_));
    throw;
  }
}

PinnedHostResource::Impl::~Impl() {
  while (wait_for_pending()) {
  }
  for (cudaEvent_t event : idle_events_) GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(event));
  if (options_.backing == PinnedBacking::cuda_pool) {
    GHTIER_CUDA_CHECK_NOTHROW(cudaStreamSynchronize(stream_));
    GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(stream_));
    GHTIER_CUDA_CHECK_NOTHROW(cudaMemPoolDestroy(pool_));
    return;
  }
  if (allocator_.live_block_count() != 0) {
    detail::log_nothrow(LogLevel::warn,
                        "PinnedHostResource destroyed with {} blocks ({} bytes) still allocated; they are unmapped",
                        allocator_.live_block_count(), allocator_.used_bytes());
  }
  for (auto& [base, mapping] : regions_) GHTIER_CUDA_CHECK_NOTHROW(cudaHostUnregister(base));
  // The mappings unmap themselves.
}

// ---- registered_mmap -----------------------------------------------------------------------------------

void PinnedHostResource::Impl::bind_region(void* p, std::size_t bytes) {
  const int node = numa_node();
  if (node < 0) return;
  try {
    // A node the caller named is a requirement (MPOL_BIND); the GPU's own node is a preference.
    detail::bind_to_numa_node(p, bytes, node, node_was_requested_, "PinnedHostResource::reserve");
  } catch (const Error& e) {
    if (node_was_requested_) throw;
    // Binding to the GPU's node is an optimisation: go on unbound (and stop trying) where it is not allowed.
    numa_node_ = -1;
    detail::log_nothrow(detail::host_numa_node_count() > 1 ? LogLevel::warn : LogLevel::debug,
                        "PinnedHostResource: not binding pinned memory to the GPU's host NUMA node: {}", e.what());
  }
}

void PinnedHostResource::Impl::add_region_locked(std::size_t bytes) {
  const std::size_t size = detail::align_up(bytes, region_alignment_);
  detail::NvtxRange range("ghtier::PinnedHostResource::reserve", size);
  detail::HostMapping mapping = detail::HostMapping::map(size, region_alignment_, "PinnedHostResource::reserve");
  if (options_.huge_pages) mapping.advise_huge_pages();
  bind_region(mapping.data(), mapping.size());
  // Fault every page in with many threads before registering: cudaHostRegister would otherwise fault them
  // on one thread (5.7 s for 16 GiB against 0.37 s + 0.39 s this way on the GPU machine).
  detail::touch_pages(mapping.data(), mapping.size(), options_.touch_threads);
  {
    detail::ScopedDevice scoped(device_);
    const cudaError_t status =
        cudaHostRegister(mapping.data(), mapping.size(), cudaHostRegisterPortable | cudaHostRegisterMapped);
    if (status != cudaSuccess) {
      (void)cudaGetLastError();
      throw_error(status == cudaErrorMemoryAllocation ? ErrorCode::out_of_memory : ErrorCode::cuda_error,
                  fmt::format("PinnedHostResource::reserve: cudaHostRegister of {} bytes failed: {} ({}); {} bytes "
                              "already pinned by this resource",
                              mapping.size(), cudaGetErrorString(status), cudaGetErrorName(status),
                              allocator_.capacity_bytes()),
                  static_cast<int>(status));
    }
  }
  void* base = mapping.data();
  try {
    allocator_.add_range(base, mapping.size());
    regions_.emplace(base, std::move(mapping));
  } catch (...) {
    allocator_.remove_range(base);
    GHTIER_CUDA_CHECK_NOTHROW(cudaHostUnregister(base));
    throw;
  }
  detail::log_nothrow(LogLevel::debug, "PinnedHostResource: pinned a region of {} bytes on node {} ({} regions)",
                      size, numa_node(), regions_.size());
}

void* PinnedHostResource::Impl::allocate_from_regions(std::size_t bytes, std::size_t alignment) {
  if (pending_count_.load(std::memory_order_relaxed) != 0) reclaim_completed();
  if (void* p = allocator_.allocate(bytes, alignment)) return p;

  if (options_.growth_bytes == 0) {
    // A pool that cannot grow waits for the stream-ordered frees before it gives up.
    if (wait_for_pending()) {
      if (void* p = allocator_.allocate(bytes, alignment)) return p;
    }
    throw OutOfMemoryError(
                fmt::format("PinnedHostResource::allocate: {} bytes (alignment {}) do not fit: {} of {} bytes free, "
                            "largest free block {} bytes; growth is disabled (growth_bytes = 0)",
                            bytes, alignment, allocator_.free_bytes(), allocator_.capacity_bytes(),
                            allocator_.largest_free_block()));
  }
  std::lock_guard lock(regions_mutex_);
  // Another thread may have grown the pool while this one waited for the lock.
  if (void* p = allocator_.allocate(bytes, alignment)) return p;
  const std::size_t needed = detail::align_up(bytes, block_granule) + (alignment > region_alignment_ ? alignment : 0);
  add_region_locked(std::max(options_.growth_bytes, needed));
  if (void* p = allocator_.allocate(bytes, alignment)) return p;
  throw Error(ErrorCode::internal,
              fmt::format("PinnedHostResource::allocate: {} bytes (alignment {}) do not fit in a fresh region", bytes,
                          alignment));
}

void PinnedHostResource::Impl::release_block(void* p) noexcept {
  if (allocator_.deallocate(p) == 0) {
    detail::log_nothrow(LogLevel::error,
                        "PinnedHostResource::deallocate: {} was not allocated by this resource (or was already "
                        "freed); ignored",
                        p);
  }
}

cudaEvent_t PinnedHostResource::Impl::acquire_event() noexcept {
  {
    std::lock_guard lock(pending_mutex_);
    if (!idle_events_.empty()) {
      cudaEvent_t event = idle_events_.back();
      idle_events_.pop_back();
      return event;
    }
  }
  try {
    detail::ScopedDevice scoped(device_);
    cudaEvent_t event = nullptr;
    GHTIER_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
    return event;
  } catch (const Error& e) {  // first: OutOfMemoryError is not caught as std::exception (see error.hpp)
    detail::log_nothrow(LogLevel::error, "PinnedHostResource: cannot create an event: {}", e.what());
    return nullptr;
  } catch (const std::exception& e) {
    detail::log_nothrow(LogLevel::error, "PinnedHostResource: cannot create an event: {}", e.what());
    return nullptr;
  }
}

void PinnedHostResource::Impl::retire_event(cudaEvent_t event) noexcept {
  try {
    std::lock_guard lock(pending_mutex_);
    idle_events_.push_back(event);
  } catch (...) {
    GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(event));
  }
}

void PinnedHostResource::Impl::reclaim_completed() noexcept {
  std::lock_guard lock(pending_mutex_);
  auto keep = pending_.begin();
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    const cudaError_t status = cudaEventQuery(it->event);
    if (status == cudaErrorNotReady) {
      *keep++ = *it;
      continue;
    }
    if (status != cudaSuccess) {
      // The context is broken (a sticky error): nothing will run on the stream any more, so the block is free.
      GHTIER_CUDA_CHECK_NOTHROW(status);
    }
    release_block(it->p);
    try {
      idle_events_.push_back(it->event);
    } catch (...) {
      GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(it->event));
    }
  }
  pending_.erase(keep, pending_.end());
  pending_count_.store(pending_.size(), std::memory_order_relaxed);
}

bool PinnedHostResource::Impl::wait_for_pending() noexcept {
  std::vector<PendingFree> waiting;
  {
    std::lock_guard lock(pending_mutex_);
    waiting.swap(pending_);
    pending_count_.store(0, std::memory_order_relaxed);
  }
  for (const PendingFree& entry : waiting) {
    GHTIER_CUDA_CHECK_NOTHROW(cudaEventSynchronize(entry.event));
    release_block(entry.p);
    retire_event(entry.event);
  }
  return !waiting.empty();
}

// ---- cuda_pool ---------------------------------------------------------------------------------------

void PinnedHostResource::Impl::create_cuda_pool() {
  detail::ScopedDevice scoped(device_);
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.handleTypes = cudaMemHandleTypeNone;
  const int node = numa_node();
  props.location.type = node >= 0 ? cudaMemLocationTypeHostNuma : cudaMemLocationTypeHost;
  props.location.id = node >= 0 ? node : 0;
  const cudaError_t status = cudaMemPoolCreate(&pool_, &props);
  if (status == cudaErrorNotSupported || status == cudaErrorInvalidValue) {
    (void)cudaGetLastError();
    throw Error(ErrorCode::unsupported,
                fmt::format("PinnedHostResource: this driver cannot create a pinned host memory pool on {} ({}); "
                            "use PinnedBacking::registered_mmap",
                            node >= 0 ? fmt::format("host NUMA node {}", node) : std::string("the host"),
                            cudaGetErrorString(status)),
                static_cast<int>(status));
  }
  GHTIER_CUDA_CHECK(status);
  try {
    // A host pool is reachable only from the CPU until the device is given access.
    cudaMemAccessDesc access{};
    access.location.type = cudaMemLocationTypeDevice;
    access.location.id = device_;
    access.flags = cudaMemAccessFlagsProtReadWrite;
    GHTIER_CUDA_CHECK(cudaMemPoolSetAccess(pool_, &access, 1));
    // Keep everything: returning pinned memory to the OS at each synchronisation would make it slow again.
    std::uint64_t threshold = UINT64_MAX;
    GHTIER_CUDA_CHECK(cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &threshold));
    GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  } catch (...) {
    GHTIER_CUDA_CHECK_NOTHROW(cudaMemPoolDestroy(pool_));
    pool_ = nullptr;
    throw;
  }
}

void* PinnedHostResource::Impl::allocate_from_cuda_pool(std::size_t bytes, std::size_t alignment,
                                                        cudaStream_t stream, bool synchronous) {
  const cudaStream_t on = synchronous ? stream_ : stream;
  void* raw = nullptr;
  const cudaError_t status =
      cudaMallocFromPoolAsync(&raw, detail::AlignedBlockMap::padded_size(bytes, alignment, cuda_pool_alignment),
                              pool_, on);
  if (status == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    throw OutOfMemoryError(
                fmt::format("PinnedHostResource::allocate: the CUDA pinned host pool cannot provide {} bytes", bytes),
                static_cast<int>(status));
  }
  GHTIER_CUDA_CHECK(status);
  void* p = raw;
  if (alignment > cuda_pool_alignment) {
    p = detail::AlignedBlockMap::align(raw, alignment);
    try {
      over_aligned_.remember(p, raw);
    } catch (...) {
      GHTIER_CUDA_CHECK_NOTHROW(cudaFreeAsync(raw, on));
      throw;
    }
  }
  if (synchronous) {
    const cudaError_t synced = cudaStreamSynchronize(stream_);
    if (synced != cudaSuccess) {
      free_to_cuda_pool(p, alignment, nullptr, true);
      GHTIER_CUDA_CHECK(synced);
    }
  }
  return p;
}

void PinnedHostResource::Impl::free_to_cuda_pool(void* p, std::size_t alignment, cudaStream_t stream,
                                                 bool synchronous) noexcept {
  void* raw = p;
  if (alignment > cuda_pool_alignment) {
    raw = over_aligned_.take(p);
    if (raw == nullptr) {
      detail::log_nothrow(LogLevel::error,
                          "PinnedHostResource::deallocate: {} with alignment {} was not allocated with that "
                          "alignment here; ignored",
                          p, alignment);
      return;
    }
  }
  GHTIER_CUDA_CHECK_NOTHROW(cudaFreeAsync(raw, synchronous ? stream_ : stream));
}

// ---- common -------------------------------------------------------------------------------------------

void* PinnedHostResource::Impl::allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                                         bool synchronous) {
  detail::check_allocation_arguments(bytes, alignment, "PinnedHostResource::allocate");
  detail::NvtxRange range("ghtier::PinnedHostResource::allocate", bytes);
  if (options_.backing == PinnedBacking::cuda_pool) {
    return allocate_from_cuda_pool(bytes, alignment, stream, synchronous);
  }
  return allocate_from_regions(bytes, alignment);
}

void PinnedHostResource::Impl::deallocate(void* p, std::size_t alignment, cudaStream_t stream,
                                          bool synchronous) noexcept {
  if (p == nullptr) return;
  if (options_.backing == PinnedBacking::cuda_pool) {
    free_to_cuda_pool(p, alignment, stream, synchronous);
    return;
  }
  if (synchronous) {
    release_block(p);
    return;
  }
  if (allocator_.block_size(p) == 0) {
    release_block(p);  // logs the foreign pointer
    return;
  }
  // Stream-ordered: the block becomes reusable once everything queued on `stream` so far has run.
  cudaEvent_t event = acquire_event();
  cudaError_t status = event != nullptr ? cudaEventRecord(event, stream) : cudaErrorUnknown;
  if (status == cudaSuccess) {
    try {
      std::lock_guard lock(pending_mutex_);
      pending_.push_back({p, event});
      pending_count_.store(pending_.size(), std::memory_order_relaxed);
      return;
    } catch (...) {
      status = cudaEventSynchronize(event);  // no room to queue it: wait here instead
    }
  } else {
    (void)cudaGetLastError();
    status = cudaStreamSynchronize(stream);  // e.g. a stream of another device: wait here instead
  }
  GHTIER_CUDA_CHECK_NOTHROW(status);
  if (event != nullptr) retire_event(event);
  release_block(p);
}

void PinnedHostResource::Impl::reserve(std::size_t bytes) {
  if (bytes == 0 || bytes > detail::max_allocation_bytes) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("PinnedHostResource::reserve: bytes = {} (must be 1..{})", bytes,
                            detail::max_allocation_bytes));
  }
  if (options_.backing == PinnedBacking::registered_mmap) {
    std::lock_guard lock(regions_mutex_);
    add_region_locked(bytes);
    return;
  }
  detail::NvtxRange range("ghtier::PinnedHostResource::reserve", bytes);
  void* p = allocate_from_cuda_pool(bytes, default_alignment, nullptr, true);
  detail::touch_pages(p, bytes, options_.touch_threads);
  free_to_cuda_pool(p, default_alignment, nullptr, true);
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

std::size_t PinnedHostResource::Impl::release_unused() {
  if (options_.backing == PinnedBacking::cuda_pool) {
    GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream_));
    const std::size_t before = reserved_bytes();
    GHTIER_CUDA_CHECK(cudaMemPoolTrimTo(pool_, 0));
    const std::size_t after = reserved_bytes();
    return before > after ? before - after : 0;
  }
  reclaim_completed();
  std::lock_guard lock(regions_mutex_);
  std::size_t released = 0;
  for (auto it = regions_.begin(); it != regions_.end();) {
    if (allocator_.remove_range(it->first)) {
      released += it->second.size();
      GHTIER_CUDA_CHECK_NOTHROW(cudaHostUnregister(it->first));
      it = regions_.erase(it);
    } else {
      ++it;
    }
  }
  return released;
}

std::size_t PinnedHostResource::Impl::reserved_bytes() const {
  if (options_.backing == PinnedBacking::cuda_pool) {
    std::uint64_t value = 0;
    GHTIER_CUDA_CHECK(cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrReservedMemCurrent, &value));
    return static_cast<std::size_t>(value);
  }
  return allocator_.capacity_bytes();
}

std::size_t PinnedHostResource::Impl::used_bytes() const {
  if (options_.backing == PinnedBacking::cuda_pool) {
    std::uint64_t value = 0;
    GHTIER_CUDA_CHECK(cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrUsedMemCurrent, &value));
    return static_cast<std::size_t>(value);
  }
  // Stream-ordered frees whose work has completed are no longer in use: reclaim them before counting.
  // (Logically const: the blocks were already free for the caller; only the bookkeeping catches up.)
  if (pending_count_.load(std::memory_order_relaxed) != 0) const_cast<Impl*>(this)->reclaim_completed();
  return allocator_.used_bytes();
}

std::size_t PinnedHostResource::Impl::region_count() const {
  std::lock_guard lock(regions_mutex_);
  return regions_.size();
}

// ---- the public class -----------------------------------------------------------------------------------

PinnedHostResource::PinnedHostResource(PinnedHostOptions options) : impl_(std::make_unique<Impl>(options)) {}
PinnedHostResource::~PinnedHostResource() = default;

void PinnedHostResource::reserve(std::size_t bytes) { impl_->reserve(bytes); }
std::size_t PinnedHostResource::release_unused() { return impl_->release_unused(); }
std::size_t PinnedHostResource::reserved_bytes() const { return impl_->reserved_bytes(); }
std::size_t PinnedHostResource::used_bytes() const { return impl_->used_bytes(); }
std::size_t PinnedHostResource::region_count() const { return impl_->region_count(); }
int PinnedHostResource::numa_node() const noexcept { return impl_->numa_node(); }
int PinnedHostResource::device() const noexcept { return impl_->device(); }
PinnedBacking PinnedHostResource::backing() const noexcept { return impl_->backing(); }

void* PinnedHostResource::do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                                      bool synchronous) {
  return impl_->allocate(bytes, alignment, stream, synchronous);
}

void PinnedHostResource::do_deallocate(void* p, std::size_t /*bytes*/, std::size_t alignment, cudaStream_t stream,
                                       bool synchronous) noexcept {
  impl_->deallocate(p, alignment, stream, synchronous);
}

}  // namespace ghtier
