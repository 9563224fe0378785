// Tiny kernels for the memory tests: prove a kernel can reach a buffer (add one to each byte) and hold a
// buffer busy on a stream for a while before writing it (to test stream-ordered frees).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

namespace ghtier::test {

/// p[i] += 1 for every byte, on `stream`. Returns the launch status.
cudaError_t launch_add_one(unsigned char* p, std::size_t n, cudaStream_t stream);

/// Spins for about `spin_ms` milliseconds (device clock), then sets every byte of p to `value`.
cudaError_t launch_spin_then_fill(unsigned char* p, std::size_t n, unsigned char value, double spin_ms,
                                  cudaStream_t stream);

}  // namespace ghtier::test
