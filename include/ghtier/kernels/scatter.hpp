// scatter: rows written into a table at positions given by an index list, in place in any GPU-reachable
// tier (the reverse of gather: updating embedding or feature rows that live in CPU memory).
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "ghtier/kernels/index_check.hpp"
#include "ghtier/memory/default_device_resource.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

/// table[indices[i]] = rows[i] for i < count, rows of row_bytes (any width, any alignment), on `stream`.
/// If an index repeats, which of its rows the table ends up with is unspecified (the writes race, so the
/// row may even mix bytes of them); make indices distinct when that matters.
/// An index < 0 or >= num_rows writes nothing and is reported through `check` (see IndexCheck); with
/// check == nullptr the call waits for `stream` and throws Error(invalid_argument) naming it; its temporary
/// record (a few dozen bytes, stream-ordered) comes from `resource`, and a refusal throws
/// Error(out_of_budget / out_of_memory) before launching.
/// Throws before launching: Error(invalid_argument) for a zero row width, a null pointer with count > 0,
/// an empty table with count > 0, sizes that overflow or rows/indices overlapping the table;
/// Error(unsupported) for memory the GPU cannot reach on this platform (pageable memory over PCIe).
GHTIER_API void scatter(const void* rows, std::size_t row_bytes, std::size_t count, const std::int64_t* indices,
                        void* table, std::size_t num_rows, cudaStream_t stream, IndexCheck* check = nullptr,
                        MemoryResource& resource = default_device_resource());
/// As above, with 32-bit indices.
GHTIER_API void scatter(const void* rows, std::size_t row_bytes, std::size_t count, const std::int32_t* indices,
                        void* table, std::size_t num_rows, cudaStream_t stream, IndexCheck* check = nullptr,
                        MemoryResource& resource = default_device_resource());

}  // namespace ghtier
