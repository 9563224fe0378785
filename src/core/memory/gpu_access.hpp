// Checks, before a launch, that the GPU can dereference a range: pageable memory is reachable only on
// ATS/HMM platforms, so on plain PCIe it is refused with a clear error instead of a fault in the kernel.
#pragma once

#include <cstddef>

namespace ghtier::detail {

/// How the current device can reach a pointer.
enum class PointerKind { device, pinned_host, managed, pageable };

/// Classifies p with cudaPointerGetAttributes. Throws Error(invalid_argument) for a null p.
[[nodiscard]] PointerKind classify_pointer(const void* p);

/// Throws Error(invalid_argument) if p is null while bytes > 0, and Error(unsupported) naming `what` if
/// the current device cannot dereference p (pageable memory without ATS/HMM). bytes == 0 always passes.
void require_gpu_access(const void* p, std::size_t bytes, const char* what);

}  // namespace ghtier::detail
