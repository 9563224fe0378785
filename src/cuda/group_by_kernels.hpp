// Launcher of the group-by kernel (validation and planning happen before, in group_by.cpp).
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/aggregate_slots.hpp"
#include "cuda/column_scan_plan.hpp"
#include "cuda/scan_args.hpp"

namespace ghtier::detail {

/// Adds every row of `values` that passes `filter` to the group keys[row] of `slots` (keys outside
/// [0, slots.groups) count in status[status_rows_out_of_range]) with the strategy, grid and shared memory
/// of `launch` (shape.grid is ignored). Accumulates over several launches on the same slots.
void launch_group_by(const ScanColumn& keys, const ScanColumn& values, const ScanFilter& filter, const ScanShape& shape,
                     const GroupByLaunch& launch, const AggregateSlots& slots, cudaStream_t stream);

}  // namespace ghtier::detail
