// The process-wide default device resource: where ghtier's kernels take their own device memory (hash
// tables, row caches, index records, scratch) when the caller passes no resource, as RMM's current device
// resource does. Pass a Runtime's `resource(MemoryMode::device)` instead to put that memory under the
// runtime's device budget and statistics.
#pragma once

#include "ghtier/export.h"

#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

/// The default device resource: the one last set, else the built-in one, which takes stream-ordered memory
/// from the current device's default CUDA memory pool (cudaMallocAsync / cudaFreeAsync; alignments up to
/// 256 bytes; its synchronous forms use the per-thread default stream and wait for it). Thread-safe.
[[nodiscard]] GHTIER_API MemoryResource& default_device_resource() noexcept;

/// Makes `resource` the default for later calls and returns the previous default (never null); null
/// restores the built-in one. Calls already running keep the resource they started with. The caller must
/// keep `resource` alive while it is the default and while memory taken from it lives; it must hand out
/// memory the GPU can reach (mode device, pinned_host or managed). Thread-safe.
GHTIER_API MemoryResource* set_default_device_resource(MemoryResource* resource) noexcept;

}  // namespace ghtier
