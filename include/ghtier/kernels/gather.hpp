// gather: rows of a table picked by an index list, read in place from any GPU-reachable tier (the feature
// and embedding lookup of a recommender, with the table in CPU memory and the indices on the GPU).
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "ghtier/kernels/index_check.hpp"
#include "ghtier/memory/default_device_resource.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

/// out[i] = table[indices[i]] for i < count, rows of row_bytes (any width, any alignment), on `stream`.
/// table (num_rows rows), indices and out may be device, pinned host or managed memory, or system memory
/// where the platform lets the GPU read it (ATS/HMM). Accesses are 16 bytes wide wherever the width and
/// alignment allow; narrow rows get a thread or a small group each, wide rows a warp or a block.
/// An index < 0 or >= num_rows gets a zero row and is reported through `check` (see IndexCheck); with
/// check == nullptr the call waits for `stream` and throws Error(invalid_argument) naming it; its temporary
/// record (a few dozen bytes, stream-ordered) comes from `resource`, and a refusal throws
/// Error(out_of_budget / out_of_memory) before launching.
/// Throws before launching: Error(invalid_argument) for a zero row width, a null pointer with count > 0,
/// an empty table with count > 0, sizes that overflow or out overlapping table or indices;
/// Error(unsupported) for memory the GPU cannot reach on this platform (pageable memory over PCIe).
GHTIER_API void gather(const void* table, std::size_t row_bytes, std::size_t num_rows, const std::int64_t* indices,
                       std::size_t count, void* out, cudaStream_t stream, IndexCheck* check = nullptr,
                       MemoryResource& resource = default_device_resource());
/// As above, with 32-bit indices.
GHTIER_API void gather(const void* table, std::size_t row_bytes, std::size_t num_rows, const std::int32_t* indices,
                       std::size_t count, void* out, cudaStream_t stream, IndexCheck* check = nullptr,
                       MemoryResource& resource = default_device_resource());

}  // namespace ghtier
