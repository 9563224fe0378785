// query_system_topology: the CUDA half of SystemTopology (devices, their PCI ids and NUMA nodes, every ordered
// pair's peer attributes) with the NUMA nodes from sysfs. The only CUDA-touching part of the topology.
#include <cuda_runtime_api.h>

#include <array>

#include "core/platform/topology.hpp"
#include "core/support/cuda_check.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier::detail {

namespace {

// An attribute newer than the driver comes back as invalid value: "not reported" rather than an error.
int peer_attribute(cudaDeviceP2PAttr attr, int from, int to) {
  int value = 0;
  const cudaError_t status = cudaDeviceGetP2PAttribute(&value, attr, from, to);
  if (status == cudaErrorInvalidValue) {
    (void)cudaGetLastError();
    return -1;
  }
  check_cuda(status, "cudaDeviceGetP2PAttribute", __FILE__, __LINE__);
  return value;
}

}  // namespace

SystemTopology query_system_topology() {
  SystemTopology t;
  t.source = "queried";
  t.nodes = read_numa_nodes("/sys/devices/system/node", allowed_cpus());
  const int count = visible_device_count();
  for (int device = 0; device < count; ++device) {
    const DeviceAttributes a = query_device_attributes(device);
    TopologyGpu gpu;
    gpu.index = device;
    gpu.name = a.name;
    gpu.host_numa_node = a.host_numa_id >= 0 ? a.host_numa_id : -1;
    std::array<char, 32> bus_id{};
    GHTIER_CUDA_CHECK(cudaDeviceGetPCIBusId(bus_id.data(), static_cast<int>(bus_id.size()), device));
    gpu.pci_bus_id = bus_id.data();
    t.gpus.push_back(std::move(gpu));
  }
  for (int from = 0; from < count; ++from) {
    for (int to = 0; to < count; ++to) {
      if (from == to) continue;
      TopologyPeer p;
      p.from = from;
      p.to = to;
      int can = 0;
      GHTIER_CUDA_CHECK(cudaDeviceCanAccessPeer(&can, from, to));
      p.access = can != 0;
      if (p.access) {
        p.performance_rank = peer_attribute(cudaDevP2PAttrPerformanceRank, from, to);
        p.native_atomics = peer_attribute(cudaDevP2PAttrNativeAtomicSupported, from, to) > 0;
        p.link = p.native_atomics ? PeerLink::nvlink : PeerLink::pcie;
      }
      t.peers.push_back(p);
    }
  }
  validate(t);
  return t;
}

}  // namespace ghtier::detail
