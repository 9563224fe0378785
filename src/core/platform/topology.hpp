// SystemTopology: the GPUs of one host, which pairs of them reach each other's memory (and over what), and
// the host's NUMA nodes with their CPUs. Plain values, so that the decisions made from it (the NUMA node and
// CPUs of a GPU's host tier and copy threads, which GPUs are peers) are tested on recorded topologies.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ghtier::detail {

/// One visible CUDA device.
struct TopologyGpu {
  int index = 0;            ///< CUDA device ordinal
  std::string name;         ///< e.g. "NVIDIA H200"
  std::string pci_bus_id;   ///< cudaDeviceGetPCIBusId, e.g. "0000:19:00.0"
  int host_numa_node = -1;  ///< cudaDevAttrHostNumaId; -1: the driver names none. May name a node that
                            ///< the host's sysfs does not show (a container): numa_node_for_gpu checks
};

/// How a pair of GPUs is connected, as far as CUDA tells. CUDA's runtime does not name the link: a pair with
/// peer access and native peer atomics is taken as NVLink (PCIe peer traffic has no native atomics), one with
/// peer access without them as PCIe.
enum class PeerLink { none, pcie, nvlink };

[[nodiscard]] std::string_view to_string(PeerLink link) noexcept;
/// Throws Error(invalid_argument) for a name other than none, pcie, nvlink.
[[nodiscard]] PeerLink peer_link_from_string(std::string_view name);

/// What one GPU (`from`) can do with another's (`to`) memory: one ordered pair.
struct TopologyPeer {
  int from = 0;
  int to = 0;
  bool access = false;          ///< cudaDeviceCanAccessPeer(from, to)
  int performance_rank = -1;    ///< cudaDevP2PAttrPerformanceRank (0 is the best link); -1: not reported
  bool native_atomics = false;  ///< cudaDevP2PAttrNativeAtomicSupported
  PeerLink link = PeerLink::none;
};

/// One host NUMA node and its CPUs (empty for a memory-only node, e.g. a GH200's HBM node).
struct TopologyNumaNode {
  int node = 0;
  std::vector<int> cpus;
};

struct SystemTopology {
  std::vector<TopologyGpu> gpus;        ///< by index, 0..n-1
  std::vector<TopologyPeer> peers;      ///< every ordered pair (from != to), n * (n - 1) of them
  std::vector<TopologyNumaNode> nodes;  ///< by node id, ascending
  std::string source;                   ///< "queried" or the file it was read from
};

/// Throws Error(invalid_argument) naming the first inconsistency: GPU indices other than 0..n-1 in order, a
/// GPU's node below -1, a pair naming a GPU that does not exist (or itself), a pair given
/// twice or missing, access without a link or a link without access, repeated or unsorted node ids.
void validate(const SystemTopology& topology);

/// The GPU `gpu` of `topology`; throws Error(invalid_argument) when there is none.
[[nodiscard]] const TopologyGpu& topology_gpu(const SystemTopology& topology, int gpu);
/// The pair from -> to; throws Error(invalid_argument) when either GPU does not exist or from == to.
[[nodiscard]] const TopologyPeer& topology_peer(const SystemTopology& topology, int from, int to);
/// The GPUs whose memory `gpu` can access (cudaDeviceCanAccessPeer), ascending.
[[nodiscard]] std::vector<int> peers_of(const SystemTopology& topology, int gpu);
/// True when each of the two GPUs can access the other's memory.
[[nodiscard]] bool mutual_peers(const SystemTopology& topology, int a, int b);

/// The NUMA node for `gpu`'s host tier and copy threads: the node the driver names for it when the host has
/// it; else, on a host of one node, that node; else -1 (unknown: place nothing, leave it to the OS).
[[nodiscard]] int numa_node_for_gpu(const SystemTopology& topology, int gpu);
/// The same choice from the node the driver names (-1: none) and the host's nodes: the named node when the host
/// has it; else, on a host of one node, that node; else -1.
[[nodiscard]] int choose_numa_node(int named_node, const std::vector<TopologyNumaNode>& nodes) noexcept;
/// The CPUs of `node`; empty when the node is unknown or has no CPUs.
[[nodiscard]] std::vector<int> cpus_of_node(const SystemTopology& topology, int node);

/// The host's NUMA nodes from a sysfs tree (`node_root`, normally /sys/devices/system/node): each nodeN
/// folder's cpulist. A host without that folder (some containers) is one node 0 with the CPUs in
/// `fallback_cpus`. Throws Error(invalid_argument) for a cpulist that does not parse, io_error for one that
/// cannot be read.
[[nodiscard]] std::vector<TopologyNumaNode> read_numa_nodes(const std::filesystem::path& node_root,
                                                            const std::vector<int>& fallback_cpus);

/// The CPUs this process may run on (sched_getaffinity), ascending; empty if the call fails.
[[nodiscard]] std::vector<int> allowed_cpus() noexcept;

/// This host's topology: every visible GPU (CUDA), every ordered pair's peer attributes, the NUMA nodes
/// (sysfs). No GPU visible gives a topology without GPUs (never an error). Throws Error(cuda_error) when a
/// CUDA query fails, and as read_numa_nodes.
[[nodiscard]] SystemTopology query_system_topology();

}  // namespace ghtier::detail
