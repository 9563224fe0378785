// How a pinned host resource chooses the host NUMA node its memory is bound to: the GPU's own node, no node,
// or a node id. Shared by PinnedHostResource and PinnedHostPoolResource.
#pragma once

namespace ghtier {

/// Node choice meaning "the GPU's host NUMA node (cudaDevAttrHostNumaId), if the driver names one".
inline constexpr int numa_node_of_gpu = -2;
/// Node choice meaning "do not bind".
inline constexpr int numa_node_none = -1;

}  // namespace ghtier
