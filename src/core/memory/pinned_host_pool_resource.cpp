// PinnedHostPoolResource: CUDA's pinned host memory pool on the chosen host NUMA node, with an internal
// stream for the synchronous calls and a map of over-aligned blocks.
#include "ghtier/memory/pinned_host_pool_resource.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <string>

#include "core/memory/aligned_block_map.hpp"
#include "core/memory/allocation_checks.hpp"
#include "core/memory/page_toucher.hpp"
#include "core/memory/pinned_numa_node.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/device_selection.hpp"
#include "core/support/log_nothrow.hpp"
#include "core/support/nvtx_range.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {
// What cudaMallocFromPoolAsync guarantees; larger alignments are over-allocated.
constexpr std::size_t pool_alignment = 256;
}  // namespace

class PinnedHostPoolResource::Impl {
 public:
  explicit Impl(const PinnedHostPoolOptions& options);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void* allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous);
  void deallocate(void* p, std::size_t alignment, cudaStream_t stream, bool synchronous) noexcept;
  void reserve(std::size_t bytes);
  std::size_t release_unused();
  [[nodiscard]] std::size_t reserved_bytes() const;
  [[nodiscard]] std::size_t used_bytes() const;
  [[nodiscard]] int numa_node() const noexcept { return numa_node_; }
  [[nodiscard]] int device() const noexcept { return device_; }

 private:
  void create_pool();
  [[nodiscard]] std::size_t pool_attribute(cudaMemPoolAttr attribute) const;

  PinnedHostPoolOptions options_;
  int device_;
  int numa_node_ = -1;
  cudaMemPool_t pool_ = nullptr;
  cudaStream_t stream_ = nullptr;  // for allocate / deallocate without a caller's stream
  detail::AlignedBlockMap over_aligned_;
};

PinnedHostPoolResource::Impl::Impl(const PinnedHostPoolOptions& options)
    : options_(options), device_(detail::resolve_device(options.device, "PinnedHostPoolResource")) {
  if (options.touch_threads < 0) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("PinnedHostPoolResource: touch_threads = {} (must be >= 0; 0 = automatic)", options.touch_threads));
  }
  if (options.initial_bytes > detail::max_allocation_bytes) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("PinnedHostPoolResource: initial_bytes = {} is absurd", options.initial_bytes));
  }
  numa_node_ = detail::resolve_pinned_numa_node(options.numa_node, device_, "PinnedHostPoolResource").node;
  create_pool();
  try {
    if (options.initial_bytes > 0) reserve(options.initial_bytes);
  } catch (...) {
    GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(stream_));
    GHTIER_CUDA_CHECK_NOTHROW(cudaMemPoolDestroy(pool_));
    throw;
  }
}

PinnedHostPoolResource::Impl::~Impl() {
  GHTIER_CUDA_CHECK_NOTHROW(cudaStreamSynchronize(stream_));
  GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(stream_));
  GHTIER_CUDA_CHECK_NOTHROW(cudaMemPoolDestroy(pool_));
}

void PinnedHostPoolResource::Impl::create_pool() {
  detail::ScopedDevice scoped(device_);
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.handleTypes = cudaMemHandleTypeNone;
  props.location.type = numa_node_ >= 0 ? cudaMemLocationTypeHostNuma : cudaMemLocationTypeHost;
  props.location.id = numa_node_ >= 0 ? numa_node_ : 0;
  const cudaError_t status = GHTIER_CUDA_CALL(cudaMemPoolCreate(&pool_, &props));
  if (status == cudaErrorNotSupported || status == cudaErrorInvalidValue) {
    (void)cudaGetLastError();
    throw_error(ErrorCode::unsupported,
                fmt::format("PinnedHostPoolResource: this driver cannot create a pinned host memory pool on {} ({}); "
                            "use PinnedHostResource",
                            numa_node_ >= 0 ? fmt::format("host NUMA node {}", numa_node_) : std::string("the host"),
                            cudaGetErrorString(status)),
                static_cast<int>(status));
  }
  detail::check_cuda(status, "cudaMemPoolCreate", __FILE__, __LINE__);
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

void* PinnedHostPoolResource::Impl::allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                                             bool synchronous) {
  detail::check_allocation_arguments(bytes, alignment, "PinnedHostPoolResource::allocate");
  detail::NvtxRange range("ghtier::PinnedHostPoolResource::allocate", bytes);
  const cudaStream_t on = synchronous ? stream_ : stream;
  void* raw = nullptr;
  const cudaError_t status = GHTIER_CUDA_CALL(
      cudaMallocFromPoolAsync(&raw, detail::AlignedBlockMap::padded_size(bytes, alignment, pool_alignment), pool_, on));
  if (status == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    throw_error(ErrorCode::out_of_memory,
                fmt::format("PinnedHostPoolResource::allocate: the CUDA pinned host pool cannot provide {} bytes "
                            "(cudaMallocFromPoolAsync: out of memory)",
                            bytes),
                static_cast<int>(status));
  }
  detail::check_cuda(status, "cudaMallocFromPoolAsync", __FILE__, __LINE__);
  void* p = raw;
  if (alignment > pool_alignment) {
    p = detail::AlignedBlockMap::align(raw, alignment);
    try {
      over_aligned_.remember(p, raw);
    } catch (...) {
      GHTIER_CUDA_CHECK_NOTHROW(cudaFreeAsync(raw, on));
      throw;
    }
  }
  if (synchronous) {
    const cudaError_t synced = GHTIER_CUDA_CALL(cudaStreamSynchronize(stream_));
    if (synced != cudaSuccess) {
      deallocate(p, alignment, nullptr, true);
      detail::check_cuda(synced, "cudaStreamSynchronize", __FILE__, __LINE__);
    }
  }
  return p;
}

void PinnedHostPoolResource::Impl::deallocate(void* p, std::size_t alignment, cudaStream_t stream,
                                              bool synchronous) noexcept {
  if (p == nullptr) return;
  void* raw = p;
  if (alignment > pool_alignment) {
    raw = over_aligned_.take(p);
    if (raw == nullptr) {
      detail::log_nothrow(LogLevel::error,
                          "PinnedHostPoolResource::deallocate: {} with alignment {} was not allocated with that "
                          "alignment here; ignored",
                          p, alignment);
      return;
    }
  }
  GHTIER_CUDA_CHECK_NOTHROW(cudaFreeAsync(raw, synchronous ? stream_ : stream));
}

void PinnedHostPoolResource::Impl::reserve(std::size_t bytes) {
  if (bytes == 0 || bytes > detail::max_allocation_bytes) {
    throw_error(ErrorCode::invalid_argument, fmt::format("PinnedHostPoolResource::reserve: bytes = {} (must be 1..{})",
                                                         bytes, detail::max_allocation_bytes));
  }
  detail::NvtxRange range("ghtier::PinnedHostPoolResource::reserve", bytes);
  void* p = allocate(bytes, default_alignment, nullptr, true);
  detail::touch_pages(p, bytes, options_.touch_threads);
  deallocate(p, default_alignment, nullptr, true);
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

std::size_t PinnedHostPoolResource::Impl::release_unused() {
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream_));
  const std::size_t before = reserved_bytes();
  GHTIER_CUDA_CHECK(cudaMemPoolTrimTo(pool_, 0));
  const std::size_t after = reserved_bytes();
  return before > after ? before - after : 0;
}

std::size_t PinnedHostPoolResource::Impl::pool_attribute(cudaMemPoolAttr attribute) const {
  std::uint64_t value = 0;
  GHTIER_CUDA_CHECK(cudaMemPoolGetAttribute(pool_, attribute, &value));
  return static_cast<std::size_t>(value);
}

std::size_t PinnedHostPoolResource::Impl::reserved_bytes() const {
  return pool_attribute(cudaMemPoolAttrReservedMemCurrent);
}

std::size_t PinnedHostPoolResource::Impl::used_bytes() const { return pool_attribute(cudaMemPoolAttrUsedMemCurrent); }

// ---- the public class -----------------------------------------------------------------------------------

PinnedHostPoolResource::PinnedHostPoolResource(PinnedHostPoolOptions options)
    : impl_(std::make_unique<Impl>(options)) {}
PinnedHostPoolResource::~PinnedHostPoolResource() = default;

void PinnedHostPoolResource::reserve(std::size_t bytes) { impl_->reserve(bytes); }
std::size_t PinnedHostPoolResource::release_unused() { return impl_->release_unused(); }
std::size_t PinnedHostPoolResource::reserved_bytes() const { return impl_->reserved_bytes(); }
std::size_t PinnedHostPoolResource::used_bytes() const { return impl_->used_bytes(); }
int PinnedHostPoolResource::numa_node() const noexcept { return impl_->numa_node(); }
int PinnedHostPoolResource::device() const noexcept { return impl_->device(); }

void* PinnedHostPoolResource::do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                                          bool synchronous) {
  return impl_->allocate(bytes, alignment, stream, synchronous);
}

void PinnedHostPoolResource::do_deallocate(void* p, std::size_t /*bytes*/, std::size_t alignment, cudaStream_t stream,
                                           bool synchronous) noexcept {
  impl_->deallocate(p, alignment, stream, synchronous);
}

}  // namespace ghtier
