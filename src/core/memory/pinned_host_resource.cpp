// PinnedHostResource: regions of registered mmap memory carved up by RangeAllocator. Stream-ordered frees wait
// for an event recorded on the caller's stream.
#include "ghtier/memory/pinned_host_resource.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "core/memory/allocation_checks.hpp"
#include "core/memory/host_mapping.hpp"
#include "core/memory/numa_binding.hpp"
#include "core/memory/page_toucher.hpp"
#include "core/memory/pinned_numa_node.hpp"
#include "core/memory/range_allocator.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/device_selection.hpp"
#include "core/support/log_nothrow.hpp"
#include "core/support/nvtx_range.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {
// Sub-allocation granule: CUDA's own allocation alignment, so default-aligned requests never pad.
constexpr std::size_t block_granule = default_alignment;
}  // namespace

class PinnedHostResource::Impl {
 public:
  explicit Impl(const PinnedHostOptions& options);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Host memory is valid as soon as it exists: allocation is the same with or without a stream.
  void* allocate(std::size_t bytes, std::size_t alignment);
  void deallocate(void* p, cudaStream_t stream, bool synchronous) noexcept;
  void reserve(std::size_t bytes);
  std::size_t release_unused();
  [[nodiscard]] std::size_t reserved_bytes() const;
  [[nodiscard]] std::size_t used_bytes() const;
  [[nodiscard]] std::size_t region_count() const;
  [[nodiscard]] int numa_node() const noexcept { return numa_node_.load(std::memory_order_relaxed); }
  [[nodiscard]] int device() const noexcept { return device_; }

 private:
  struct PendingFree {
    void* p;
    cudaEvent_t event;
  };

  void* allocate_from_regions(std::size_t bytes, std::size_t alignment);
  void add_region_locked(std::size_t bytes);
  void bind_region(void* p, std::size_t bytes);
  void release_block(void* p) noexcept;
  void reclaim_completed() noexcept;
  bool wait_for_pending() noexcept;
  cudaEvent_t acquire_event() noexcept;
  void retire_event(cudaEvent_t event) noexcept;

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
};

PinnedHostResource::Impl::Impl(const PinnedHostOptions& options)
    : options_(options),
      device_(detail::resolve_device(options.device, "PinnedHostResource")),
      region_alignment_(options.huge_pages ? detail::huge_page_bytes : detail::base_page_bytes()) {
  if (options.touch_threads < 0) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("PinnedHostResource: touch_threads = {} (must be >= 0; 0 = automatic)", options.touch_threads));
  }
  if (options.initial_bytes > detail::max_allocation_bytes || options.growth_bytes > detail::max_allocation_bytes) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("PinnedHostResource: initial_bytes = {} / growth_bytes = {} is absurd",
                            options.initial_bytes, options.growth_bytes));
  }
  if (options.growth_bytes == 0 && options.initial_bytes == 0) {
    throw_error(ErrorCode::invalid_argument,
                "PinnedHostResource: growth_bytes = 0 (no growth) needs initial_bytes > 0, else nothing can be "
                "allocated");
  }
  if (options.backing == PinnedBacking::cuda_pool) {
    throw_error(ErrorCode::invalid_argument,
                "PinnedHostResource: backing = cuda_pool is PinnedHostPoolResource (the runtime picks it from "
                "RuntimeOptions::pinned_host.backing)");
  }
  if (options.backing != PinnedBacking::registered_mmap) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("PinnedHostResource: unknown backing {}", static_cast<int>(options.backing)));
  }
  const detail::PinnedNumaNode node =
      detail::resolve_pinned_numa_node(options.numa_node, device_, "PinnedHostResource");
  numa_node_ = node.node;
  node_was_requested_ = node.required;
  if (options.initial_bytes > 0) reserve(options.initial_bytes);
}

PinnedHostResource::Impl::~Impl() {
  while (wait_for_pending()) {}
  for (cudaEvent_t event : idle_events_) GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(event));
  if (allocator_.live_block_count() != 0) {
    detail::log_nothrow(LogLevel::warn,
                        "PinnedHostResource destroyed with {} blocks ({} bytes) still allocated; they are unmapped",
                        allocator_.live_block_count(), allocator_.used_bytes());
  }
  for (auto& [base, mapping] : regions_) GHTIER_CUDA_CHECK_NOTHROW(cudaHostUnregister(base));
  // The mappings unmap themselves.
}

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
  // on one thread (16 GiB: 5.7 s against 0.37 s + 0.39 s this way; docs/benchmarks.md).
  detail::touch_pages(mapping.data(), mapping.size(), options_.touch_threads);
  {
    detail::ScopedDevice scoped(device_);
    const cudaError_t status = GHTIER_CUDA_CALL(
        cudaHostRegister(mapping.data(), mapping.size(), cudaHostRegisterPortable | cudaHostRegisterMapped));
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
  detail::log_nothrow(LogLevel::debug, "PinnedHostResource: pinned a region of {} bytes on node {} ({} regions)", size,
                      numa_node(), regions_.size());
}

void* PinnedHostResource::Impl::allocate_from_regions(std::size_t bytes, std::size_t alignment) {
  if (pending_count_.load(std::memory_order_relaxed) != 0) reclaim_completed();
  if (void* p = allocator_.allocate(bytes, alignment)) return p;

  if (options_.growth_bytes == 0) {
    // A pool that cannot grow waits for the stream-ordered frees before it gives up.
    if (wait_for_pending()) {
      if (void* p = allocator_.allocate(bytes, alignment)) return p;
    }
    throw OutOfMemoryError(fmt::format(
        "PinnedHostResource::allocate: {} bytes (alignment {}) do not fit: {} of {} bytes free, "
        "largest free block {} bytes; growth is disabled (growth_bytes = 0)",
        bytes, alignment, allocator_.free_bytes(), allocator_.capacity_bytes(), allocator_.largest_free_block()));
  }
  std::lock_guard lock(regions_mutex_);
  // Another thread may have grown the pool while this one waited for the lock.
  if (void* p = allocator_.allocate(bytes, alignment)) return p;
  const std::size_t needed = detail::align_up(bytes, block_granule) + (alignment > region_alignment_ ? alignment : 0);
  add_region_locked(std::max(options_.growth_bytes, needed));
  if (void* p = allocator_.allocate(bytes, alignment)) return p;
  throw_error(ErrorCode::internal,
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

void* PinnedHostResource::Impl::allocate(std::size_t bytes, std::size_t alignment) {
  detail::check_allocation_arguments(bytes, alignment, "PinnedHostResource::allocate");
  detail::NvtxRange range("ghtier::PinnedHostResource::allocate", bytes);
  return allocate_from_regions(bytes, alignment);
}

void PinnedHostResource::Impl::deallocate(void* p, cudaStream_t stream, bool synchronous) noexcept {
  if (p == nullptr) return;
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
  cudaError_t status = event != nullptr ? GHTIER_CUDA_CALL(cudaEventRecord(event, stream)) : cudaErrorUnknown;
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
    throw_error(ErrorCode::invalid_argument, fmt::format("PinnedHostResource::reserve: bytes = {} (must be 1..{})",
                                                         bytes, detail::max_allocation_bytes));
  }
  std::lock_guard lock(regions_mutex_);
  add_region_locked(bytes);
}

std::size_t PinnedHostResource::Impl::release_unused() {
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

std::size_t PinnedHostResource::Impl::reserved_bytes() const { return allocator_.capacity_bytes(); }

std::size_t PinnedHostResource::Impl::used_bytes() const {
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

void* PinnedHostResource::do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t /*stream*/,
                                      bool /*synchronous*/) {
  return impl_->allocate(bytes, alignment);
}

void PinnedHostResource::do_deallocate(void* p, std::size_t /*bytes*/, std::size_t /*alignment*/, cudaStream_t stream,
                                       bool synchronous) noexcept {
  impl_->deallocate(p, stream, synchronous);
}

}  // namespace ghtier
