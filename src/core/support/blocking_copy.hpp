// A copy that has landed when it returns, whatever the memory kinds.
#pragma once

#include <cstddef>

namespace ghtier::detail {

/// Copies `bytes` and waits until they are in `dst`. Plain cudaMemcpy does not promise that: from pageable
/// memory to the device it returns once the bytes are staged, and a non-blocking stream that then reads `dst`
/// can see the old contents. The copy runs on the calling thread's default stream, so it neither waits for
/// nor holds up other threads' work on the legacy default stream.
void blocking_copy(void* dst, const void* src, std::size_t bytes);

}  // namespace ghtier::detail
