// Kernels of the "engine" benchmark suite: compute that keeps every SM busy without touching memory, to
// show that offloads run behind it (the overlap case).
#pragma once

#include <cuda_runtime_api.h>

namespace ghtier::bench {

/// Launches a compute-bound kernel (FMAs in registers; one float written per thread to `sink`, which must
/// hold blocks * 256 floats) of `iterations` steps on `blocks` blocks. Throws Error if the launch fails.
void launch_compute_burn(float* sink, int blocks, int iterations, cudaStream_t stream);

}  // namespace ghtier::bench
