// Kernels that calibrate() times: a streaming read and a streaming write of 16-byte vectors.
// Kept apart from the host logic because nvcc cannot compile fmt's consteval format strings.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

namespace ghtier::detail {

/// Reads `bytes` (a multiple of 16, 16-byte aligned) at src with `blocks` x 256 threads; `sink` is a
/// device float that is written only if the sum takes an impossible value, so the loads cannot be elided.
void launch_read_probe(const void* src, std::size_t bytes, float* sink, unsigned blocks, cudaStream_t stream);
/// Writes `bytes` (a multiple of 16, 16-byte aligned) at dst.
void launch_write_probe(void* dst, std::size_t bytes, unsigned blocks, cudaStream_t stream);

}  // namespace ghtier::detail
