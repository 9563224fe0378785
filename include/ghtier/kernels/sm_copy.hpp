// sm_copy: a copy done by the GPU's SMs (16-byte loads and stores) between any two GPU-reachable tiers,
// and the decision of when it beats the copy engine (small copies, strided copies).
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>

#include "ghtier/platform/link_model.hpp"

namespace ghtier {

/// Copies `bytes` from src to dst on `stream` with a kernel: any alignment of either pointer (16-byte
/// body, re-aligned with warp shuffles when the two are misaligned to each other, byte-wide head and tail).
/// Each side may be device, pinned host or managed memory, or system memory where the platform lets the
/// GPU reach it. bytes == 0 does nothing. Throws Error(invalid_argument) for a null pointer or overlapping
/// ranges, Error(unsupported) for memory the GPU cannot reach on this platform (pageable memory over PCIe).
GHTIER_API void sm_copy(void* dst, const void* src, std::size_t bytes, cudaStream_t stream);

/// Copies `height` rows of `width_bytes` from src (rows src_pitch apart) to dst (rows dst_pitch apart),
/// like cudaMemcpy2DAsync but with SMs, which keep full width on narrow rows. Throws Error(invalid_argument)
/// for a null pointer, a pitch smaller than the width (height > 1), sizes that overflow, or a source row
/// sharing bytes with a destination row (interleaved disjoint regions are fine); Error(unsupported) as sm_copy.
GHTIER_API void sm_copy_2d(void* dst, std::size_t dst_pitch, const void* src, std::size_t src_pitch,
                           std::size_t width_bytes, std::size_t height, cudaStream_t stream);

/// Fixed costs behind prefer_sm_copy, in microseconds (besides link.latency_us, which both pay). The defaults
/// are measured figures (`ghtier bench --filter sm_copy/`; the run: docs/benchmarks.md, "Figures behind
/// defaults"); pass your own to model another machine.
struct GHTIER_API SmCopyCosts {
  /// One cudaMemcpyAsync on a copy engine, beyond its bytes over the copy engine's bandwidth.
  double copy_engine_submit_us = 2.8;
  /// One sm_copy launch, beyond its bytes over the SM bandwidth.
  double kernel_launch_us = 4.0;
};

/// Pure: whether an SM copy of `bytes` should be preferred to the copy engine. A strided copy always prefers
/// the SMs (a copy engine walks a 2D copy row by row and loses most of its rate on narrow rows; SMs read
/// each row at full width). A contiguous one does when its predicted time
///   kernel_launch_us + latency_us + bytes / sm_read_gbps   (sm_write_gbps when !host_to_device)
/// is below the copy engine's copy_engine_submit_us + latency_us + bytes / h2d_gbps (d2h_gbps). With the
/// measured costs a kernel has the larger fixed cost, so a contiguous copy goes to the SMs only where they
/// move bytes faster than a copy engine, and above a break-even size (GH200 device-to-host writes, for one).
/// bytes == 0 gives false. Throws Error(invalid_argument) if `link` fails LinkModel::validate().
[[nodiscard]] GHTIER_API bool prefer_sm_copy(std::size_t bytes, bool is_strided, const LinkModel& link,
                                             bool host_to_device = true, const SmCopyCosts& costs = {});

}  // namespace ghtier
