// Launchers of the aggregate kernels (plain and bit-packed columns) and of the kernels that initialise
// and finalise AggregateSlots (shared with the group-by). Validation happens before, in aggregate.cpp.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/aggregate_slots.hpp"
#include "cuda/column_scan_plan.hpp"
#include "cuda/scan_args.hpp"
#include "ghtier/kernels/aggregate.hpp"

namespace ghtier::detail {

/// Sets every group's count and sum to 0, min_key to ~0, max_key to 0, status to {0, ~0}.
void launch_aggregate_init(const AggregateSlots& slots, cudaStream_t stream);

/// Adds the rows of `values` that pass `filter` (enabled: on_values, or a column of the scan's length)
/// to group 0 of `slots`. Accumulates: several launches on the same slots add up (chunked scans).
void launch_aggregate(const ScanColumn& values, const ScanFilter& filter, const ScanShape& shape,
                      const AggregateSlots& slots, cudaStream_t stream);

/// The same for a bit-packed int32/int64 column (decoded in the kernel); records bad blocks in
/// status[status_first_bad_block].
void launch_packed_aggregate(const PackedColumn& values, const ScanFilter& filter, const ScanGrid& grid,
                             const AggregateSlots& slots, cudaStream_t stream);

/// Writes slots.groups AggregateResults for values of `value_type` to `results`, and the out-of-range
/// count to *rows_out_of_range when that is not null (both GPU-writable).
void launch_aggregate_finalize(const AggregateSlots& slots, ColumnType value_type, AggregateResult* results,
                               std::uint64_t* rows_out_of_range, cudaStream_t stream);

}  // namespace ghtier::detail
