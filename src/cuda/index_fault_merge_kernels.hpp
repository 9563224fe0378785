// Launcher of the kernel that adds out-of-range indices found on the CPU (the CPU gather pipeline checks its
// keys there) to an IndexCheck's device record, as a kernel would have recorded them.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/index_fault.hpp"

namespace ghtier::detail {

/// In the order of `stream`: record->count += found.count; if the record holds no first index yet and
/// found does, found's position, value and rows become the record's.
void launch_merge_index_fault(IndexFault* record, const IndexFault& found, cudaStream_t stream);

}  // namespace ghtier::detail
