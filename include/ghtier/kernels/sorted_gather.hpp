// sorted_gather: a gather that sorts and de-duplicates its indices on the GPU first, so that each distinct
// row crosses the link once and in address order: random small-row reads from a large host table are bound
// by address translation, not by the link, and reading in order is what keeps translations cached.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "ghtier/kernels/index_check.hpp"
#include "ghtier/memory/default_device_resource.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

/// The same result as gather(): out[i] = table[indices[i]]. It sorts (index, position) pairs on the GPU
/// (CUB radix sort over the bits the row count needs), reads every distinct row once in ascending order
/// into its first requested slot of out, then copies it into the other slots that asked for it. Worth it
/// for large batches over large tables, or with many repeated indices; it costs a sort, scratch of about
/// count * 20 bytes (stream-ordered memory from `resource`, freed on return) and a few more launches.
/// out must be memory the GPU reads back quickly (device memory, ideally): duplicates are copied from it.
/// Errors as gather(); count must also be below 2^32 (Error(invalid_argument)).
GHTIER_API void sorted_gather(const void* table, std::size_t row_bytes, std::size_t num_rows,
                              const std::int64_t* indices, std::size_t count, void* out, cudaStream_t stream,
                              IndexCheck* check = nullptr, MemoryResource& resource = default_device_resource());
/// As above, with 32-bit indices.
GHTIER_API void sorted_gather(const void* table, std::size_t row_bytes, std::size_t num_rows,
                              const std::int32_t* indices, std::size_t count, void* out, cudaStream_t stream,
                              IndexCheck* check = nullptr, MemoryResource& resource = default_device_resource());

}  // namespace ghtier
