// group_by(): count, sum, min and max of a value column per key of a small-cardinality key column
// (keys in [0, groups)), both read in place by a GPU kernel from any GPU-reachable tier.
//
// Each thread block keeps the partial aggregates of every group in shared memory (32 bytes a group, so up
// to about 7000 groups on Hopper) and merges them into the result at its end; beyond that, the groups live
// in device memory and every row updates them with global atomics (correct, slower under contention).
// Accumulation follows aggregate() (int64 sums for integers, double for floating point).
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "ghtier/kernels/aggregate.hpp"
#include "ghtier/kernels/column_view.hpp"
#include "ghtier/kernels/range_filter.hpp"
#include "ghtier/memory/default_device_resource.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

/// The most groups a group-by accepts (the per-group accumulators take 32 bytes each in device memory).
inline constexpr std::uint32_t max_group_by_groups = 1u << 24;

struct GHTIER_API GroupByOptions {
  /// Rows to aggregate; none = all rows. A filter without a column tests the value column.
  std::optional<RangeFilter> filter;
};

struct GHTIER_API GroupByResult {
  /// One entry per key 0..groups-1 (count 0 and zero min/max for a key that no row carries).
  std::vector<AggregateResult> groups;
  /// Rows that passed the filter but whose key lies outside [0, groups): aggregated nowhere.
  std::uint64_t rows_out_of_range = 0;
};

/// Groups `values` by `keys` (int32 or int64, same row count) into `groups` groups on `stream` and waits.
/// Its scratch (the per-group accumulators and results, about 90 bytes a group) is stream-ordered memory
/// from `resource`.
/// Throws Error: invalid_argument (keys not integer, row counts that differ, groups 0 or above
/// max_group_by_groups, null or misaligned data, a bad filter), unsupported (memory the GPU cannot reach
/// on this platform), out_of_budget, out_of_memory, no_device, cuda_error.
[[nodiscard]] GHTIER_API GroupByResult group_by(const ColumnView& keys, const ColumnView& values, std::uint32_t groups,
                                                const GroupByOptions& options = {}, cudaStream_t stream = nullptr,
                                                MemoryResource& resource = default_device_resource());

/// Stream-ordered: the `groups` results land in `results` (GPU-writable memory of `groups` entries) and
/// the out-of-range count in `*rows_out_of_range` (GPU-writable, may be null) when the stream reaches them.
/// The accumulators are stream-ordered memory from `resource`. Throws as group_by(), before anything is
/// enqueued.
GHTIER_API void group_by_async(const ColumnView& keys, const ColumnView& values, std::uint32_t groups,
                               const GroupByOptions& options, AggregateResult* results,
                               std::uint64_t* rows_out_of_range, cudaStream_t stream,
                               MemoryResource& resource = default_device_resource());

}  // namespace ghtier
