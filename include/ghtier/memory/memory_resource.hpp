// MemoryResource: the interface every allocation mode and every adaptor implements (RMM's shape).
// Stream-ordered first: the stream is part of the call; allocate()/deallocate() are the synchronous forms.
// Every resource also meets CCCL's cuda::mr::resource and cuda::mr::async_resource concepts (equality and
// the stream-wrapper overloads below); ghtier/memory/cuda_memory_resource.hpp adds the accessibility properties.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <concepts>
#include <cstddef>

#include "ghtier/memory/memory_mode.hpp"

namespace ghtier {

/// A stream wrapper whose get() is the CUDA handle, like cuda::stream_ref (which CCCL's concepts pass).
template <class T>
concept StreamHandleWrapper = requires(const T& stream) {
  { stream.get() } -> std::same_as<cudaStream_t>;
};

/// Alignment of every allocation unless the caller asks for more (CUDA's own guarantee).
inline constexpr std::size_t default_alignment = 256;

class GHTIER_API MemoryResource {
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

  /// The same, with the stream given as a wrapper whose get() is the handle (cuda::stream_ref): what CCCL's
  /// cuda::mr::async_resource concept calls. The header does not need CCCL for it.
  template <StreamHandleWrapper StreamRef>
  [[nodiscard]] void* allocate_async(std::size_t bytes, std::size_t alignment, StreamRef stream) {
    return allocate_async(bytes, alignment, stream.get());
  }
  template <StreamHandleWrapper StreamRef>
  void deallocate_async(void* p, std::size_t bytes, std::size_t alignment, StreamRef stream) noexcept {
    deallocate_async(p, bytes, alignment, stream.get());
  }

  /// Resources are equal only to themselves: memory from one is freed through the same one (RMM's default).
  [[nodiscard]] bool operator==(const MemoryResource& other) const noexcept { return this == &other; }

  /// The allocation mode whose memory this resource hands out.
  [[nodiscard]] MemoryMode mode() const noexcept { return do_mode(); }

 private:
  virtual void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) = 0;
  virtual void do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                             bool synchronous) noexcept = 0;
  [[nodiscard]] virtual MemoryMode do_mode() const noexcept = 0;
};

}  // namespace ghtier
