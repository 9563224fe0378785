// stream_copy: a CPU copy for the staging pipeline. Large copies use non-temporal (streaming) stores on
// x86, which keep the staged bytes out of the cache and leave more memory bandwidth to the DMA that shares
// host memory with the copy threads (8 threads on the x86 + H100 over PCIe Gen5: DMA 46.1 and CPU 41.4 GB/s
// at once, vs 45.8 and 38.9 with plain memcpy; docs/benchmarks.md, "Figures behind defaults"). Elsewhere, and for small
// copies, it is memcpy.
#pragma once

#include <cstddef>

namespace ghtier::detail {

/// Copies `bytes` from src to dst (which must not overlap); any alignment. Visible to other threads and to a
/// DMA enqueued after it returns (it ends with a store fence).
void stream_copy(void* dst, const void* src, std::size_t bytes) noexcept;

/// The size from which stream_copy uses streaming stores.
inline constexpr std::size_t stream_copy_threshold = std::size_t{64} << 10;

}  // namespace ghtier::detail
