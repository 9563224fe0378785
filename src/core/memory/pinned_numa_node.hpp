// resolve_pinned_numa_node: turns a pinned resource's node choice (numa_node_of_gpu, numa_node_none or an id)
// into the node to bind to, and whether failing to bind is an error (a node the caller named) or only a
// warning (the GPU's own node, a preference).
#pragma once

namespace ghtier::detail {

struct PinnedNumaNode {
  int node = -1;          ///< the node to bind to; -1: none
  bool required = false;  ///< the caller named it: failing to bind is an error
};

/// Throws Error(invalid_argument) naming `what` for a choice that is neither a node id nor one of the two
/// constants. numa_node_of_gpu asks the driver (cudaDevAttrHostNumaId of `device`); a driver that does not
/// know the attribute or names no node gives -1.
[[nodiscard]] PinnedNumaNode resolve_pinned_numa_node(int choice, int device, const char* what);

}  // namespace ghtier::detail
