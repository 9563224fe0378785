// SM copy kernels: warps copy 16 KiB tasks of a 1D range with warp_copy (any alignment), and pitched rows
// with the row-copy shapes.
#include "cuda/sm_copy_kernels.hpp"
#include "cuda/row_copy.cuh"

namespace ghtier::detail {

namespace {
/// Task t covers dst bytes [t == 0 ? 0 : lead + t * task, lead + (t + 1) * task), where `lead` bytes bring
/// dst to a 16-byte boundary, so every task but the first starts aligned.
__global__ void __launch_bounds__(row_copy_block_threads, row_copy_blocks_per_sm)
    sm_copy_kernel(unsigned char* dst, const unsigned char* src, std::size_t n) {
  const unsigned lane = threadIdx.x & 31u;
  const std::size_t warp = (static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const std::size_t warps = (static_cast<std::size_t>(gridDim.x) * blockDim.x) >> 5;
  const std::size_t lead = (16 - (reinterpret_cast<std::uintptr_t>(dst) & 15u)) & 15u;
  const std::size_t tasks = n <= lead ? 1 : (n - lead + sm_copy_task_bytes - 1) / sm_copy_task_bytes;
  for (std::size_t t = warp; t < tasks; t += warps) {
    const std::size_t begin = t == 0 ? 0 : lead + t * sm_copy_task_bytes;
    const std::size_t end_unclamped = lead + (t + 1) * sm_copy_task_bytes;
    const std::size_t end = end_unclamped < n ? end_unclamped : n;
    warp_copy(dst + begin, src + begin, end - begin, lane);
  }
}

struct PitchedMapping {
  const unsigned char* src;
  unsigned char* dst;
  std::size_t src_pitch;
  std::size_t dst_pitch;
  static constexpr bool counts_hits = false;

  __device__ RowPair row(std::size_t i) const {
    RowPair pair;
    pair.src = src + i * src_pitch;
    pair.dst = dst + i * dst_pitch;
    return pair;
  }
  __device__ void report(std::size_t) const {}
};
}  // namespace

unsigned sm_copy_grid_blocks(std::size_t bytes, int sm_count) noexcept {
  if (bytes == 0) return 0;
  const std::size_t tasks = bytes / sm_copy_task_bytes + 2;  // the unaligned lead can add one
  const std::size_t warps_per_block = row_copy_block_threads / 32;
  const std::size_t blocks = (tasks + warps_per_block - 1) / warps_per_block;
  const std::size_t max_blocks = static_cast<std::size_t>(sm_count > 0 ? sm_count : 1) * row_copy_blocks_per_sm;
  return static_cast<unsigned>(blocks < max_blocks ? blocks : max_blocks);
}

void launch_sm_copy(void* dst, const void* src, std::size_t bytes, unsigned grid_blocks, cudaStream_t stream) {
  if (bytes == 0 || grid_blocks == 0) return;
  sm_copy_kernel<<<grid_blocks, row_copy_block_threads, 0, stream>>>(static_cast<unsigned char*>(dst),
                                                                     static_cast<const unsigned char*>(src), bytes);
  GHTIER_CUDA_CHECK_LAUNCH("sm_copy_kernel");
}

void launch_sm_copy_2d(const RowCopyPlan& plan, void* dst, std::size_t dst_pitch, const void* src,
                       std::size_t src_pitch, std::size_t width_bytes, std::size_t height, cudaStream_t stream) {
  const PitchedMapping map{static_cast<const unsigned char*>(src), static_cast<unsigned char*>(dst), src_pitch,
                           dst_pitch};
  launch_row_copy(plan, map, height, width_bytes, stream, "launch of sm_copy_2d kernel");
}

}  // namespace ghtier::detail
