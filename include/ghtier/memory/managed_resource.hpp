// ManagedResource: cudaMallocManaged memory (cudaMemAttachGlobal), optionally advised at allocation so a
// buffer starts with the placement hints its tier wants (read-mostly, preferred location, accessed-by).
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>

#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

namespace detail {
class AlignedBlockMap;
}

/// Where managed pages prefer to live (cudaMemAdviseSetPreferredLocation), if anywhere.
enum class ManagedPreferredLocation { none, device, host };

/// cudaMemAdvise hints applied to every allocation right after cudaMallocManaged.
struct GHTIER_API ManagedAdvice {
  bool read_mostly = false;  ///< cudaMemAdviseSetReadMostly
  ManagedPreferredLocation preferred_location = ManagedPreferredLocation::none;
  bool accessed_by_device = false;  ///< cudaMemAdviseSetAccessedBy the resource's device
  bool accessed_by_host = false;    ///< cudaMemAdviseSetAccessedBy the CPU
};

struct GHTIER_API ManagedOptions {
  /// The GPU that "device" in the advice means; -1 = the current device.
  int device = -1;
  ManagedAdvice advice{};
};

/// Unified memory that migrates on fault or prefetch. cudaMallocManaged is synchronous, so allocate_async
/// allocates at once; deallocate_async waits for `stream` before cudaFree (work queued on it may still use
/// the memory). Alignments above 256 bytes are honoured by over-allocation. Thread-safe.
class GHTIER_API ManagedResource final : public MemoryResource {
 public:
  /// Throws Error: no_device, invalid_argument (bad device), unsupported (the device has no managed memory).
  explicit ManagedResource(ManagedOptions options = {});
  ~ManagedResource() override;
  ManagedResource(const ManagedResource&) = delete;
  ManagedResource& operator=(const ManagedResource&) = delete;

  [[nodiscard]] int device() const noexcept { return device_; }
  [[nodiscard]] const ManagedAdvice& advice() const noexcept { return advice_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) override;
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                     bool synchronous) noexcept override;
  [[nodiscard]] MemoryMode do_mode() const noexcept override { return MemoryMode::managed; }

  int device_ = 0;
  ManagedAdvice advice_;
  std::unique_ptr<detail::AlignedBlockMap> over_aligned_;
};

}  // namespace ghtier
