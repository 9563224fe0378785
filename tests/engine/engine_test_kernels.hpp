// Kernels for the engine's GPU tests: a producer that is still running when the engine is asked to copy
// its output, so that a missing dependency shows up as stale bytes.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace ghtier::test {

/// Spins for `spin_ns` nanoseconds of GPU time, then writes byte i = (i * 131 + seed) & 0xff to out[i] for
/// i < bytes. Throws std::runtime_error if the launch fails.
void launch_late_producer(unsigned char* out, std::size_t bytes, std::uint32_t seed, std::uint64_t spin_ns,
                          cudaStream_t stream);

/// The byte the producer writes at index i.
inline unsigned char produced_byte(std::size_t i, std::uint32_t seed) {
  return static_cast<unsigned char>((i * 131 + seed) & 0xff);
}

/// Spins for `spin_ns` nanoseconds on one block (a stand-in for compute that keeps a stream busy).
void launch_spin(std::uint64_t spin_ns, cudaStream_t stream);

}  // namespace ghtier::test
