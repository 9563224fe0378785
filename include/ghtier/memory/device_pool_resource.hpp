// DevicePoolResource: HBM from a CUDA memory pool of its own (cudaMemPoolCreate), stream-ordered
// (cudaMallocFromPoolAsync / cudaFreeAsync), so its release threshold and statistics are ghtier's alone.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <limits>
#include <memory>

#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

namespace detail {
class AlignedBlockMap;
}

struct GHTIER_API DevicePoolOptions {
  /// The GPU whose memory the pool holds; -1 = the current device when the resource is created.
  int device = -1;
  /// Bytes the pool keeps reserved across synchronisations instead of returning them to the driver
  /// (cudaMemPoolAttrReleaseThreshold). The default keeps everything: allocation stays fast.
  std::size_t release_threshold = std::numeric_limits<std::size_t>::max();
  /// Bytes to reserve at construction (allocated and freed once), so the first allocations are fast.
  std::size_t initial_bytes = 0;
  /// Upper bound of the pool (cudaMemPoolProps::maxSize); 0 = no bound but the device's memory.
  std::size_t max_bytes = 0;
};

/// Stream-ordered device memory. allocate_async/deallocate_async are cudaMallocFromPoolAsync/cudaFreeAsync
/// on the caller's stream. The synchronous allocate() allocates on an internal non-blocking stream and
/// synchronises it, so the memory is usable from any stream once it returns; the synchronous deallocate()
/// enqueues the free on that internal stream: like free(), the caller must have finished (synchronised)
/// every piece of work that uses the memory. Alignments above 256 bytes are honoured by over-allocation.
/// Thread-safe.
class GHTIER_API DevicePoolResource final : public MemoryResource {
 public:
  /// Creates the pool and its internal stream. Throws Error: no_device, invalid_argument (bad device),
  /// unsupported (the device has no memory pools), cuda_error, out_of_memory (initial_bytes).
  explicit DevicePoolResource(DevicePoolOptions options = {});
  /// Waits for the internal stream and destroys the pool (CUDA frees it once its last allocation is freed).
  ~DevicePoolResource() override;
  DevicePoolResource(const DevicePoolResource&) = delete;
  DevicePoolResource& operator=(const DevicePoolResource&) = delete;

  /// The device the pool belongs to.
  [[nodiscard]] int device() const noexcept { return device_; }
  /// The CUDA pool (owned by this resource): for cudaMemPoolSetAccess and the like.
  [[nodiscard]] cudaMemPool_t pool() const noexcept { return pool_; }

  /// Changes the release threshold. Throws Error(cuda_error).
  void set_release_threshold(std::size_t bytes);
  [[nodiscard]] std::size_t release_threshold() const;
  /// Bytes the pool holds from the driver now (cudaMemPoolAttrReservedMemCurrent).
  [[nodiscard]] std::size_t reserved_bytes() const;
  /// Bytes handed out and not yet freed (cudaMemPoolAttrUsedMemCurrent).
  [[nodiscard]] std::size_t used_bytes() const;
  /// Returns reserved memory to the driver until at most `bytes_to_keep` remain (cudaMemPoolTrimTo).
  void trim_to(std::size_t bytes_to_keep);

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) override;
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                     bool synchronous) noexcept override;
  [[nodiscard]] MemoryMode do_mode() const noexcept override { return MemoryMode::device; }

  int device_ = 0;
  cudaMemPool_t pool_ = nullptr;
  cudaStream_t stream_ = nullptr;                          // the synchronous forms' stream
  std::unique_ptr<detail::AlignedBlockMap> over_aligned_;  // aligned beyond 256 B: aligned -> raw pointer
};

}  // namespace ghtier
