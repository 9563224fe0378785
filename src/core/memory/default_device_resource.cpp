// The default device resource: a small resource over the current device's default CUDA memory pool (what
// the kernels used directly before they took a resource), and the atomic pointer that can replace it.
#include "ghtier/memory/default_device_resource.hpp"

#include <cuda_runtime_api.h>

#include <atomic>

#include <fmt/format.h>

#include "core/memory/allocation_checks.hpp"
#include "core/support/cuda_check.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {

class DefaultPoolResource final : public MemoryResource {
 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) override {
    detail::check_allocation_arguments(bytes, alignment, "default device resource: allocate");
    if (alignment > default_alignment) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("default device resource: alignment {} is above the {} bytes the default CUDA pool "
                              "guarantees (use a DevicePoolResource for more)",
                              alignment, default_alignment));
    }
    const cudaStream_t on = synchronous ? cudaStreamPerThread : stream;
    void* p = nullptr;
    GHTIER_CUDA_CHECK(cudaMallocAsync(&p, bytes, on));
    if (synchronous) {
      const cudaError_t status = GHTIER_CUDA_CALL(cudaStreamSynchronize(on));
      if (status != cudaSuccess) {
        GHTIER_CUDA_CHECK_NOTHROW(cudaFreeAsync(p, on));
        detail::check_cuda(status, "cudaStreamSynchronize", __FILE__, __LINE__);
      }
    }
    return p;
  }
  void do_deallocate(void* p, std::size_t, std::size_t, cudaStream_t stream, bool synchronous) noexcept override {
    if (p == nullptr) return;
    GHTIER_CUDA_CHECK_NOTHROW(cudaFreeAsync(p, synchronous ? cudaStreamPerThread : stream));
  }
  [[nodiscard]] MemoryMode do_mode() const noexcept override { return MemoryMode::device; }
};

DefaultPoolResource& built_in() noexcept {
  static DefaultPoolResource resource;
  return resource;
}

std::atomic<MemoryResource*>& current() noexcept {
  static std::atomic<MemoryResource*> resource{&built_in()};
  return resource;
}

}  // namespace

MemoryResource& default_device_resource() noexcept { return *current().load(std::memory_order_acquire); }

MemoryResource* set_default_device_resource(MemoryResource* resource) noexcept {
  return current().exchange(resource != nullptr ? resource : &built_in(), std::memory_order_acq_rel);
}

}  // namespace ghtier
