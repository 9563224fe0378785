// bind_to_numa_node: mbind through syscall(SYS_mbind), so placing host memory on a NUMA node needs no
// libnuma. Binding must come before the first touch: it decides where the pages are faulted in.
#pragma once

#include <cstddef>

namespace ghtier::detail {

/// Binds the pages of [p, p + bytes) (p page aligned) to host NUMA node `node`: MPOL_BIND when `strict`
/// (never elsewhere), else MPOL_PREFERRED (elsewhere when the node is full). Throws Error naming `what`:
/// invalid_argument for a node that does not exist (EINVAL), unsupported where the kernel or the sandbox
/// forbids mbind (ENOSYS, EPERM: containers without CAP_SYS_NICE), io_error otherwise.
void bind_to_numa_node(void* p, std::size_t bytes, int node, bool strict, const char* what);

/// Number of host NUMA nodes the kernel reports (/sys/devices/system/node), at least 1.
[[nodiscard]] int host_numa_node_count() noexcept;

}  // namespace ghtier::detail
