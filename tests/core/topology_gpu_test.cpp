// The topology query on a real machine: every visible GPU, each with a NUMA node ghtier can use, a PCI bus id
// that sysfs knows (and whose numa_node, where sysfs names one, is the driver's), every pair's peer facts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "core/platform/topology.hpp"
#include "core/platform/topology_json.hpp"
#include "ghtier/platform/platform.hpp"
#include "test_support.hpp"

using namespace ghtier;

TEST(TopologyQuery, EveryGpuHasANodeAndABusId) {
  GHTIER_REQUIRE_GPU();
  const detail::SystemTopology t = detail::query_system_topology();
  ASSERT_EQ(static_cast<int>(t.gpus.size()), visible_device_count());
  ASSERT_FALSE(t.nodes.empty());
  for (const detail::TopologyGpu& g : t.gpus) {
    SCOPED_TRACE(g.index);
    EXPECT_EQ(g.name, query_device_attributes(g.index).name);
    EXPECT_GE(detail::numa_node_for_gpu(t, g.index), 0) << "no NUMA node for the GPU's host tier";
    // An independent reference: the PCI device's own numa_node in sysfs (lower-case bus id).
    std::string bus = g.pci_bus_id;
    std::transform(bus.begin(), bus.end(), bus.begin(), [](unsigned char c) { return std::tolower(c); });
    const std::filesystem::path device = std::filesystem::path("/sys/bus/pci/devices") / bus;
    ASSERT_TRUE(std::filesystem::exists(device)) << device;
    int sysfs_node = -1;
    std::ifstream(device / "numa_node") >> sysfs_node;
    if (sysfs_node >= 0) {
      EXPECT_EQ(g.host_numa_node, sysfs_node);
    }
    std::printf("GPU %d %s: bus %s, driver's node %d, sysfs node %d, ghtier uses node %d\n", g.index, g.name.c_str(),
                g.pci_bus_id.c_str(), g.host_numa_node, sysfs_node, detail::numa_node_for_gpu(t, g.index));
  }
  EXPECT_EQ(t.peers.size(), t.gpus.size() * (t.gpus.size() - 1));
  // The JSON form reads back to the same topology.
  EXPECT_EQ(detail::to_json_text(detail::topology_from_json(detail::to_json_text(t))), detail::to_json_text(t));
}
