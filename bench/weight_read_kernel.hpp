// The layer stand-in of the weight_streaming suite: a kernel that reads every byte of a layer's weights once
// (as a decode step's GEMV does) and folds them into one word per block, so that the weights must really be
// there, plus optional FMAs for a compute-bound layer (as a prefill GEMM is).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace ghtier::bench {

/// Reads [weights, weights + bytes) (bytes a multiple of 16, 16-byte aligned) on `blocks` blocks, runs
/// `fma_iterations` FMAs per element read, and writes one word per block into `sink` (blocks words).
/// Throws Error if the launch fails.
void launch_weight_read(const void* weights, std::size_t bytes, int fma_iterations, std::uint32_t* sink, int blocks,
                        cudaStream_t stream);

}  // namespace ghtier::bench
