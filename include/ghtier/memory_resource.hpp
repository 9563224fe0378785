// MemoryResource: the interface every allocation mode and every adaptor implements (RMM's shape).
// Stream-ordered first: the stream is part of the call; allocate()/deallocate() are the synchronous forms.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "ghtier/memory_mode.hpp"

namespace ghtier {

/// Alignment of every allocation unless the caller asks for more (CUDA's own guarantee).
inline constexpr std::size_t default_alignment = 256;

class MemoryResource {
 public:
  virtual ~MemoryResource() = default;

  /// Allocates `bytes` aligned to `alignment` (a power of two), usable once the call returns.
  /// Throws Error: invalid_argument (zero bytes, bad alignment), out_of_memory, out_of_budget, cuda_error.
  [[nodiscard]] void* allocate(std::size_t bytes, std::size_t alignment = default_alignment) {
    return do_allocate(bytes, alignment, nullptr, /*synchronous=*/true);
  }
  /// Frees what allocate() returned; `bytes` and `alignment` must be those of the allocation.
  void deallocate(void* p, std::size_t bytes, std::size_t alignment = default_alignment) noexcept {
    do_deallocate(p, bytes, alignment, nullptr, /*synchronous=*/true);
  }
  /// Stream-ordered: the memory may be used by work on `stream` enqueued after this call.
  [[nodiscard]] void* allocate_async(std::size_t bytes, std::size_t alignment, cudaStream_t stream) {
    return do_allocate(bytes, alignment, stream, /*synchronous=*/false);
  }
  /// Stream-ordered: the memory is reused only after the work on `stream` enqueued before this call.
  void deallocate_async(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream) noexcept {
    do_deallocate(p, bytes, alignment, stream, /*synchronous=*/false);
  }

  /// The allocation mode whose memory this resource hands out.
  [[nodiscard]] MemoryMode mode() const noexcept { return do_mode(); }

 private:
  virtual void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) = 0;
  virtual void do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                             bool synchronous) noexcept = 0;
  [[nodiscard]] virtual MemoryMode do_mode() const noexcept = 0;
};

}  // namespace ghtier
