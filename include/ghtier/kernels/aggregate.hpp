// aggregate(): count, sum, min and max of a column read in place by a GPU kernel from any GPU-reachable
// tier (CPU memory over the link, HBM, managed memory), with an optional range filter, plain or bit-packed.
//
// Accumulation: integer columns (int32, int64) sum in int64 (two's complement: a sum beyond the int64
// range wraps modulo 2^64, which cannot happen for int32 columns under 2^32 rows); float and double columns
// sum in double, in an order that depends on the launch, so the last bits may differ from run to run and
// from a sequential CPU sum (relative error about rows * 1e-16). min/max skip NaN (fmin/fmax semantics);
// a NaN reaches the sum. A filtered-out row counts nowhere.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <optional>

#include "ghtier/kernels/bitpacked_column.hpp"
#include "ghtier/kernels/column_view.hpp"
#include "ghtier/kernels/range_filter.hpp"
#include "ghtier/memory/default_device_resource.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

/// The aggregate of one column (or of one group of a group-by). Plain data: also written by the GPU.
struct GHTIER_API AggregateResult {
  std::uint64_t count = 0;   ///< rows that passed the filter (every row without one)
  std::int64_t sum_int = 0;  ///< integer columns: the sum in int64 (wraps); 0 for float columns
  std::int64_t min_int = 0;  ///< integer columns: the smallest value; 0 when count == 0 or float columns
  std::int64_t max_int = 0;  ///< integer columns: the largest value; 0 when count == 0 or float columns
  double sum_float = 0;      ///< float columns: the sum in double; integer columns: double(sum_int)
  double min_float = 0;      ///< float columns: the smallest non-NaN value; integer columns: double(min_int)
  double max_float = 0;      ///< float columns: the largest non-NaN value; integer columns: double(max_int)
};

struct GHTIER_API AggregateOptions {
  /// Rows to aggregate; none = all rows.
  std::optional<RangeFilter> filter;
};

/// Aggregates `values` on `stream` and waits for the result (the stream is synchronised). Its scratch (a
/// few hundred bytes) is stream-ordered memory from `resource`.
/// Throws Error: invalid_argument (null data with rows > 0, data not aligned to the value size, a filter
/// column of another length or of the wrong kind for its bounds), unsupported (memory the GPU cannot reach
/// on this platform, e.g. pageable memory on PCIe), out_of_budget, out_of_memory, no_device, cuda_error.
[[nodiscard]] GHTIER_API AggregateResult aggregate(const ColumnView& values, const AggregateOptions& options = {},
                                                   cudaStream_t stream = nullptr,
                                                   MemoryResource& resource = default_device_resource());

/// Stream-ordered: enqueues the aggregate on `stream` and returns; the result lands in `*result`
/// (device, pinned or managed memory: anything the GPU can write) when the stream reaches it. Scratch
/// memory is stream-ordered memory from `resource`. Throws as aggregate(), before anything is enqueued.
GHTIER_API void aggregate_async(const ColumnView& values, const AggregateOptions& options, AggregateResult* result,
                                cudaStream_t stream, MemoryResource& resource = default_device_resource());

/// Aggregates a bit-packed int32/int64 column, decoding it inside the kernel; only the packed bytes cross
/// the link. The filter may be on the decoded values themselves (no column) or on a plain column of
/// `values.rows` rows. Waits for the result. Throws as aggregate(), and Error(invalid_argument) for a
/// view whose sizes disagree or a block header that breaks the format (found by the kernel: width > 32 or
/// words beyond word_count; call validate() on CPU-readable headers for the complete check).
[[nodiscard]] GHTIER_API AggregateResult aggregate(const BitpackedColumnView& values,
                                                   const AggregateOptions& options = {}, cudaStream_t stream = nullptr,
                                                   MemoryResource& resource = default_device_resource());

}  // namespace ghtier
