// A kernel for the C API's GPU tests: a reader that is still waiting when the test frees what it reads, so
// that a free which does not wait for the stream shows up as a wrong sum.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace ghtier::test {

/// Blocks of the late sum (partial_sums must hold this many values).
inline constexpr unsigned late_sum_blocks = 64;

/// On `stream`: spins for `spin_ns` nanoseconds of GPU time, then writes to partial_sums[b] (b <
/// late_sum_blocks) the sum of a grid-stride slice of in[0, n). Throws std::runtime_error if the launch fails.
void launch_late_sum(const std::uint32_t* in, std::size_t n, std::uint64_t* partial_sums, std::uint64_t spin_ns,
                     cudaStream_t stream);

}  // namespace ghtier::test
