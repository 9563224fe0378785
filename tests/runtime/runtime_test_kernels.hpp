// A kernel the runtime's GPU tests pass data through (declared here, defined in the .cu: no fmt there).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

namespace ghtier::test {

/// Adds 1 (mod 256) to each of n bytes at p, on `stream`. Returns the launch's status.
cudaError_t launch_add_one(unsigned char* p, std::size_t n, cudaStream_t stream);

/// Spins about `microseconds` on `stream`, then adds 1 to each byte (a producer still writing).
cudaError_t launch_slow_add_one(unsigned char* p, std::size_t n, unsigned microseconds, cudaStream_t stream);

}  // namespace ghtier::test
