// resolve_pinned_numa_node: the node choice of PinnedHostResource and PinnedHostPoolResource.
#include "core/memory/pinned_numa_node.hpp"

#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include "ghtier/error.hpp"
#include "ghtier/memory/host_numa_node.hpp"

namespace ghtier::detail {

PinnedNumaNode resolve_pinned_numa_node(int choice, int device, const char* what) {
  if (choice == numa_node_of_gpu) {
    int node = -1;
    const cudaError_t status = cudaDeviceGetAttribute(&node, cudaDevAttrHostNumaId, device);
    if (status != cudaSuccess) {
      (void)cudaGetLastError();  // an older driver does not know the attribute: no node to prefer
      node = -1;
    }
    return {node >= 0 ? node : -1, false};
  }
  if (choice == numa_node_none) return {-1, false};
  if (choice >= 0) return {choice, true};
  throw_error(ErrorCode::invalid_argument,
              fmt::format("{}: numa_node = {} (use a node id, numa_node_of_gpu or numa_node_none)", what, choice));
}

}  // namespace ghtier::detail
