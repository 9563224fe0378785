// sm_copy, sm_copy_2d and prefer_sm_copy: argument checks and the cost model; the kernels are in
// sm_copy_kernels.cu.
#include "ghtier/kernels/sm_copy.hpp"

#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "core/memory/gpu_access.hpp"
#include "core/support/log.hpp"
#include "core/support/nvtx_range.hpp"
#include "cuda/device_sm_count.hpp"
#include "cuda/indexed_rows_arguments.hpp"
#include "cuda/pitched_overlap.hpp"
#include "cuda/row_copy_plan.hpp"
#include "cuda/sm_copy_kernels.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

void sm_copy(void* dst, const void* src, std::size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return;
  if (dst == nullptr || src == nullptr) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("sm_copy: {} is null for a copy of {} bytes", dst == nullptr ? "dst" : "src", bytes));
  }
  if (detail::ranges_overlap(dst, bytes, src, bytes)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("sm_copy: dst {} and src {} overlap within {} bytes", dst, src, bytes));
  }
  detail::NvtxRange range("ghtier::sm_copy", bytes);
  detail::require_gpu_access(src, bytes, "sm_copy src");
  detail::require_gpu_access(dst, bytes, "sm_copy dst");
  detail::launch_sm_copy(dst, src, bytes, detail::sm_copy_grid_blocks(bytes, detail::current_sm_count()), stream);
}

void sm_copy_2d(void* dst, std::size_t dst_pitch, const void* src, std::size_t src_pitch, std::size_t width_bytes,
                std::size_t height, cudaStream_t stream) {
  if (width_bytes == 0 || height == 0) return;
  if (dst == nullptr || src == nullptr) {
    throw_error(ErrorCode::invalid_argument, fmt::format("sm_copy_2d: {} is null for {} rows of {} bytes",
                                                         dst == nullptr ? "dst" : "src", height, width_bytes));
  }
  if (height > 1 && (dst_pitch < width_bytes || src_pitch < width_bytes)) {
    throw_error(ErrorCode::invalid_argument, fmt::format("sm_copy_2d: {} {} is smaller than width_bytes {}",
                                                         dst_pitch < width_bytes ? "dst_pitch" : "src_pitch",
                                                         dst_pitch < width_bytes ? dst_pitch : src_pitch, width_bytes));
  }
  // The extent a side spans: (height - 1) pitches and one row.
  const std::size_t src_extent =
      detail::checked_product("sm_copy_2d", "src extent", height - 1, src_pitch) + width_bytes;
  const std::size_t dst_extent =
      detail::checked_product("sm_copy_2d", "dst extent", height - 1, dst_pitch) + width_bytes;
  if (src_extent < width_bytes || dst_extent < width_bytes) {
    throw_error(ErrorCode::invalid_argument, "sm_copy_2d: extent overflows");
  }
  if (detail::pitched_regions_overlap(dst, dst_pitch, src, src_pitch, width_bytes, height)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("sm_copy_2d: dst {} (pitch {}) and src {} (pitch {}) overlap: some of their {} rows of {} "
                            "bytes share bytes",
                            dst, dst_pitch, src, src_pitch, height, width_bytes));
  }
  const std::size_t bytes = detail::checked_product("sm_copy_2d", "bytes", height, width_bytes);
  detail::NvtxRange range("ghtier::sm_copy_2d", bytes);
  detail::require_gpu_access(src, src_extent, "sm_copy_2d src");
  detail::require_gpu_access(dst, dst_extent, "sm_copy_2d dst");
  const detail::RowCopyPlan plan =
      detail::plan_row_copy(width_bytes, height, reinterpret_cast<std::uintptr_t>(src), src_pitch,
                            reinterpret_cast<std::uintptr_t>(dst), dst_pitch, detail::current_sm_count());
  log(LogLevel::debug, "sm_copy_2d: {} rows of {} B, {} with {}-byte accesses, {} blocks", height, width_bytes,
      detail::to_string(plan.shape), plan.access_bytes, plan.grid_blocks);
  detail::launch_sm_copy_2d(plan, dst, dst_pitch, src, src_pitch, width_bytes, height, stream);
}

bool prefer_sm_copy(std::size_t bytes, bool is_strided, const LinkModel& link, bool host_to_device,
                    const SmCopyCosts& costs) {
  link.validate();
  if (bytes == 0) return false;
  if (is_strided) return true;
  const double sm_gbps = host_to_device ? link.sm_read_gbps : link.sm_write_gbps;
  const double ce_gbps = host_to_device ? link.h2d_gbps : link.d2h_gbps;
  const double b = static_cast<double>(bytes);
  // Seconds; both pay one link latency, so it cancels, but it stays in for readability.
  const double sm_seconds = (costs.kernel_launch_us + link.latency_us) * 1e-6 + b / (sm_gbps * 1e9);
  const double ce_seconds = (costs.copy_engine_submit_us + link.latency_us) * 1e-6 + b / (ce_gbps * 1e9);
  return sm_seconds < ce_seconds;
}

}  // namespace ghtier
