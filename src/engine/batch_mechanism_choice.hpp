// Which mechanism copies one lane's part of a batch: copy engine (cudaMemcpyBatchAsync) or an SM kernel.
// A copy engine pays a fixed cost per item (measured on PCIe Gen5: 10,000 blocks of 16 KiB ran at 0.27x a
// single large copy), a kernel pays per launch and reads or writes host memory at the SM rate; for many
// small items the kernel wins by far, for few large ones the copy engine does (and leaves the SMs alone).
#pragma once

#include <cstddef>

#include "engine/transfer_route.hpp"
#include "ghtier/engine/transfer_engine.hpp"
#include "ghtier/platform/link_model.hpp"

namespace ghtier::detail {

/// The shape of one lane's batch.
struct BatchShape {
  std::size_t items = 0;
  std::size_t bytes = 0;
  LaneId lane = LaneId::local;
  bool gpu_reachable = false;  ///< a kernel can dereference every source and destination
  /// Every side is device or pinned host memory: a kernel's accesses migrate no pages (a kernel touching
  /// managed memory would move the source, which a copy must not do), so automatic may choose the kernel.
  bool fixed_pages = false;
};

/// Fixed costs behind the choice. copy_engine_item_us comes from the GPU machine (x86 + H200, PCIe Gen5, CUDA
/// 13.0): 10,000 blocks of 16 KiB through cudaMemcpyBatchAsync ran at 13-18 GB/s, about 0.8 us per item
/// beyond bytes / bandwidth. kernel_launch_us is an estimate, not a measurement: a launch of 1024 items cost
/// 15-18 us of host time there, most of it hidden behind the previous launch's copy; the choice turns on
/// per-item costs and barely moves with it.
struct BatchCosts {
  double copy_engine_item_us = 0.8;  ///< per item of cudaMemcpyBatchAsync beyond bytes / bandwidth
  double kernel_launch_us = 6.0;     ///< per launch of the batch kernel (up to sm_batch_max_items items)
};

/// Estimated seconds of the batch on each mechanism, from the link's figures.
[[nodiscard]] double copy_engine_batch_seconds(const BatchShape& shape, const LinkModel& link,
                                               const BatchCosts& costs = {});
[[nodiscard]] double sm_batch_seconds(const BatchShape& shape, const LinkModel& link, const BatchCosts& costs = {});

/// Mean item size above which automatic keeps the copy engine whatever the model says: SMs are shared with
/// the caller's kernels, so they are worth taking only where per-item costs dominate.
inline constexpr std::size_t sm_batch_mean_item_limit = std::size_t{1} << 20;

/// True when the SM kernel copies this batch: always for BatchMechanism::sm_kernel (if every item is
/// GPU-reachable), never for copy_engine, and for automatic when the pages are fixed, the items average at
/// most sm_batch_mean_item_limit and the model says the kernel is faster.
[[nodiscard]] bool use_sm_batch(BatchMechanism mechanism, const BatchShape& shape, const LinkModel& link,
                                const BatchCosts& costs = {});

}  // namespace ghtier::detail
