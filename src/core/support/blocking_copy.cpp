#include "core/support/blocking_copy.hpp"

#include <cuda_runtime_api.h>

#include "core/support/cuda_check.hpp"

namespace ghtier::detail {

void blocking_copy(void* dst, const void* src, std::size_t bytes) {
  GHTIER_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, cudaStreamPerThread));
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(cudaStreamPerThread));
}

}  // namespace ghtier::detail
