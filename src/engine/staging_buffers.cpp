// StagingBuffers: one pinned allocation, carved into slots.
#include "engine/staging_buffers.hpp"

#include <cuda_runtime_api.h>

#include "core/support/cuda_check.hpp"

namespace ghtier::detail {

StagingBuffers::StagingBuffers(std::size_t slots, std::size_t slot_bytes) : slot_bytes_(slot_bytes), ring_(slots) {
  void* p = nullptr;
  GHTIER_CUDA_CHECK(cudaHostAlloc(&p, slots * slot_bytes, cudaHostAllocDefault));
  memory_ = static_cast<std::byte*>(p);
}

StagingBuffers::~StagingBuffers() { GHTIER_CUDA_CHECK_NOTHROW(cudaFreeHost(memory_)); }

}  // namespace ghtier::detail
