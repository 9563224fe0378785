// Launchers of the SM copy kernels: a 1D copy split into 16 KiB warp tasks, and the 2D (pitched) copy on
// the row-copy shapes. Arguments are validated by sm_copy.cpp; these only launch.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "cuda/row_copy_plan.hpp"

namespace ghtier::detail {

/// Bytes each warp copies per task in a 1D SM copy; task boundaries fall on 16-byte-aligned dst addresses.
inline constexpr std::size_t sm_copy_task_bytes = 16384;

/// Blocks (of row_copy_block_threads) for a 1D copy of `bytes`: one warp per task, at most what the SMs
/// hold at once. Pure; 0 when bytes == 0.
[[nodiscard]] unsigned sm_copy_grid_blocks(std::size_t bytes, int sm_count) noexcept;

void launch_sm_copy(void* dst, const void* src, std::size_t bytes, unsigned grid_blocks, cudaStream_t stream);

void launch_sm_copy_2d(const RowCopyPlan& plan, void* dst, std::size_t dst_pitch, const void* src,
                       std::size_t src_pitch, std::size_t width_bytes, std::size_t height, cudaStream_t stream);

}  // namespace ghtier::detail
