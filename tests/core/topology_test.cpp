// SystemTopology from recorded (hand-written) topologies of 2, 4 and 8 GPUs on 1 and 2 NUMA nodes: JSON round
// trips, refusals of inconsistent files, the NUMA node chosen per GPU, which pairs are peers, sysfs reading.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include <gtest/gtest.h>

#include "core/platform/cpu_list.hpp"
#include "core/platform/topology.hpp"
#include "core/platform/topology_json.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {
namespace {

SystemTopology fixture(const char* name) {
  return load_topology(std::filesystem::path(GHTIER_TOPOLOGY_FIXTURES) / name);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

TEST(Topology, FixturesLoadAndRoundTrip) {
  for (const char* name : {"two_gpus_one_node_pcie.json", "four_gpus_two_nodes_pcie.json",
                           "eight_gpus_two_nodes_nvlink.json", "two_gpus_two_nodes_unknown_node.json"}) {
    SCOPED_TRACE(name);
    const SystemTopology t = fixture(name);
    const std::size_t n = t.gpus.size();
    EXPECT_EQ(t.peers.size(), n * (n - 1));
    const SystemTopology again = topology_from_json(to_json_text(t));
    EXPECT_EQ(to_json_text(again), to_json_text(t));
    ASSERT_EQ(again.gpus.size(), n);
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_EQ(again.gpus[i].pci_bus_id, t.gpus[i].pci_bus_id);
      EXPECT_EQ(again.gpus[i].host_numa_node, t.gpus[i].host_numa_node);
    }
    ASSERT_EQ(again.nodes.size(), t.nodes.size());
    for (std::size_t i = 0; i < t.nodes.size(); ++i) EXPECT_EQ(again.nodes[i].cpus, t.nodes[i].cpus);
  }
}

TEST(Topology, RandomTopologiesRoundTrip) {
  std::mt19937 random(15);
  for (int round = 0; round < 50; ++round) {
    SystemTopology t;
    const int gpus = static_cast<int>(random() % 9);
    const int nodes = 1 + static_cast<int>(random() % 4);
    for (int node = 0; node < nodes; ++node) {
      std::vector<int> cpus;
      for (int cpu = node * 16; cpu < node * 16 + 16; ++cpu) {
        if (random() % 3 != 0) cpus.push_back(cpu);
      }
      t.nodes.push_back({node * 2, cpus});  // sparse ids
    }
    for (int g = 0; g < gpus; ++g) {
      t.gpus.push_back({g, "GPU " + std::to_string(g), "0000:" + std::to_string(10 + g) + ":00.0",
                        static_cast<int>(random() % (nodes * 2 + 1)) - 1});
    }
    for (int a = 0; a < gpus; ++a) {
      for (int b = 0; b < gpus; ++b) {
        if (a == b) continue;
        TopologyPeer p{a, b, random() % 2 == 0, -1, false, PeerLink::none};
        if (p.access) {
          p.native_atomics = random() % 2 == 0;
          p.link = p.native_atomics ? PeerLink::nvlink : PeerLink::pcie;
          p.performance_rank = static_cast<int>(random() % 3);
        }
        t.peers.push_back(p);
      }
    }
    const SystemTopology again = topology_from_json(to_json_text(t));
    ASSERT_EQ(again.peers.size(), t.peers.size());
    for (std::size_t i = 0; i < t.peers.size(); ++i) {
      EXPECT_EQ(again.peers[i].access, t.peers[i].access);
      EXPECT_EQ(again.peers[i].link, t.peers[i].link);
      EXPECT_EQ(again.peers[i].performance_rank, t.peers[i].performance_rank);
      EXPECT_EQ(again.peers[i].native_atomics, t.peers[i].native_atomics);
    }
    for (int g = 0; g < gpus; ++g) {
      EXPECT_EQ(numa_node_for_gpu(again, g), numa_node_for_gpu(t, g));
      EXPECT_EQ(peers_of(again, g), peers_of(t, g));
    }
    for (std::size_t i = 0; i < t.nodes.size(); ++i) EXPECT_EQ(again.nodes[i].cpus, t.nodes[i].cpus);
  }
}

TEST(Topology, NumaNodeOfEachGpu) {
  const SystemTopology one = fixture("two_gpus_one_node_pcie.json");
  EXPECT_EQ(numa_node_for_gpu(one, 0), 0);
  EXPECT_EQ(numa_node_for_gpu(one, 1), 0);
  EXPECT_EQ(cpus_of_node(one, 0), parse_cpu_list("0-31"));

  const SystemTopology four = fixture("four_gpus_two_nodes_pcie.json");
  EXPECT_EQ(numa_node_for_gpu(four, 0), 0);
  EXPECT_EQ(numa_node_for_gpu(four, 1), 0);
  EXPECT_EQ(numa_node_for_gpu(four, 2), 1);
  EXPECT_EQ(numa_node_for_gpu(four, 3), 1);
  EXPECT_EQ(cpus_of_node(four, 1), parse_cpu_list("24-47,72-95"));

  const SystemTopology eight = fixture("eight_gpus_two_nodes_nvlink.json");
  for (int g = 0; g < 8; ++g) EXPECT_EQ(numa_node_for_gpu(eight, g), g < 4 ? 0 : 1) << g;
  EXPECT_TRUE(cpus_of_node(eight, 5).empty());  // no such node
}

TEST(Topology, UnknownNodeFallsBack) {
  // Two nodes: a GPU without a node, or with one the host does not show, gets none (-1: leave it to the OS).
  const SystemTopology two = fixture("two_gpus_two_nodes_unknown_node.json");
  EXPECT_EQ(numa_node_for_gpu(two, 0), -1);
  EXPECT_EQ(numa_node_for_gpu(two, 1), -1);
  // One node: that node, whatever the driver said.
  SystemTopology one = two;
  one.nodes.resize(1);
  EXPECT_EQ(numa_node_for_gpu(one, 0), 0);
  EXPECT_EQ(numa_node_for_gpu(one, 1), 0);
  EXPECT_NE(error_of([&] { (void)numa_node_for_gpu(two, 2); }).find("GPU 2 does not exist"), std::string::npos);
}

TEST(Topology, WhichPairsArePeers) {
  const SystemTopology four = fixture("four_gpus_two_nodes_pcie.json");
  EXPECT_EQ(peers_of(four, 0), (std::vector<int>{1}));
  EXPECT_EQ(peers_of(four, 3), (std::vector<int>{2}));
  EXPECT_TRUE(mutual_peers(four, 2, 3));
  EXPECT_FALSE(mutual_peers(four, 1, 2));
  EXPECT_EQ(topology_peer(four, 0, 1).link, PeerLink::pcie);
  EXPECT_EQ(topology_peer(four, 0, 2).link, PeerLink::none);

  const SystemTopology eight = fixture("eight_gpus_two_nodes_nvlink.json");
  for (int g = 0; g < 8; ++g) {
    std::vector<int> others;
    for (int o = 0; o < 8; ++o) {
      if (o != g) others.push_back(o);
    }
    EXPECT_EQ(peers_of(eight, g), others);
  }
  EXPECT_EQ(topology_peer(eight, 6, 1).link, PeerLink::nvlink);
  EXPECT_TRUE(topology_peer(eight, 6, 1).native_atomics);

  // A one-way pair: 0 reaches 1, 1 does not reach 0.
  SystemTopology one_way = fixture("two_gpus_one_node_pcie.json");
  one_way.peers[1] = {1, 0, false, -1, false, PeerLink::none};
  EXPECT_EQ(peers_of(one_way, 0), (std::vector<int>{1}));
  EXPECT_TRUE(peers_of(one_way, 1).empty());
  EXPECT_FALSE(mutual_peers(one_way, 0, 1));
  EXPECT_NE(error_of([&] { (void)topology_peer(one_way, 0, 0); }).find("no peer pair 0 -> 0"), std::string::npos);
}

TEST(Topology, InconsistentTopologiesAreRefused) {
  const SystemTopology good = fixture("four_gpus_two_nodes_pcie.json");
  auto refused = [&](auto change) {
    SystemTopology t = good;
    change(t);
    return error_of([&] { validate(t); });
  };
  EXPECT_NE(refused([](SystemTopology& t) { t.gpus[2].index = 5; }).find("has index 5"), std::string::npos);
  EXPECT_NE(refused([](SystemTopology& t) { t.peers.pop_back(); }).find("is missing"), std::string::npos);
  EXPECT_NE(refused([](SystemTopology& t) { t.peers.push_back(t.peers[0]); }).find("given twice"), std::string::npos);
  EXPECT_NE(refused([](SystemTopology& t) { t.peers[0].to = 9; }).find("does not exist"), std::string::npos);
  EXPECT_NE(refused([](SystemTopology& t) { t.peers[0].to = t.peers[0].from; }).find("with itself"), std::string::npos);
  EXPECT_NE(refused([](SystemTopology& t) { t.peers[0].link = PeerLink::none; }).find("a link needs access"),
            std::string::npos);
  EXPECT_NE(refused([](SystemTopology& t) { std::swap(t.nodes[0], t.nodes[1]); }).find("must ascend"),
            std::string::npos);
}

TEST(Topology, MalformedJsonNamesTheKey) {
  EXPECT_NE(error_of([] { (void)topology_from_json("[]"); }).find("one object"), std::string::npos);
  EXPECT_NE(error_of([] { (void)topology_from_json(R"({"peers": [], "numa_nodes": []})"); }).find("lacks \"gpus\""),
            std::string::npos);
  EXPECT_NE(error_of([] {
              (void)topology_from_json(R"({"gpus": [{"index": 0, "name": "x", "pci_bus_id": 3, "host_numa_node": 0}],)"
                                       R"( "peers": [], "numa_nodes": [{"node": 0, "cpus": "0-3"}]})");
            }).find("gpus[0]: \"pci_bus_id\" is not a string"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              (void)topology_from_json(R"({"gpus": [], "peers": [], "numa_nodes": [{"node": 0, "cpus": "3-1"}]})");
            }).find("numa_nodes[0].cpus"),
            std::string::npos);
  EXPECT_NE(
      error_of([] {
        (void)topology_from_json(R"({"gpus": [{"index": 0, "name": "a", "pci_bus_id": "x", "host_numa_node": null},)"
                                 R"({"index": 1, "name": "b", "pci_bus_id": "y", "host_numa_node": null}],)"
                                 R"( "peers": [{"from": 0, "to": 1, "access": true, "performance_rank": 0,)"
                                 R"( "native_atomics": false, "link": "carrier-pigeon"},)"
                                 R"({"from": 1, "to": 0, "access": false, "performance_rank": null,)"
                                 R"( "native_atomics": false, "link": "none"}], "numa_nodes": []})");
      }).find("peers[0]: topology: peer link \"carrier-pigeon\""),
      std::string::npos);
  try {
    (void)load_topology("/nonexistent/topology.json");
    ADD_FAILURE() << "a missing file was read";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io_error);
  }
}

TEST(Topology, ReadsNumaNodesFromASysfsTree) {
  const auto root = std::filesystem::temp_directory_path() / ("ghtier_topology_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  auto write = [&](const std::string& folder, const std::string& text) {
    std::filesystem::create_directories(root / folder);
    std::ofstream(root / folder / "cpulist") << text;
  };
  write("node1", "8-15\n");
  write("node0", "0-7\n");
  write("node10", "\n");                                // a memory-only node
  std::filesystem::create_directories(root / "power");  // not a node
  const auto nodes = read_numa_nodes(root, {});
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0].node, 0);
  EXPECT_EQ(nodes[1].node, 1);
  EXPECT_EQ(nodes[1].cpus, parse_cpu_list("8-15"));
  EXPECT_EQ(nodes[2].node, 10);
  EXPECT_TRUE(nodes[2].cpus.empty());
  write("node2", "garbage");
  EXPECT_NE(error_of([&] { (void)read_numa_nodes(root, {}); }).find("node2/cpulist"), std::string::npos);
  std::filesystem::remove_all(root);
  // No sysfs tree: one node 0 with the fallback CPUs.
  const auto fallback = read_numa_nodes(root, {0, 1, 2});
  ASSERT_EQ(fallback.size(), 1u);
  EXPECT_EQ(fallback[0].node, 0);
  EXPECT_EQ(fallback[0].cpus, (std::vector<int>{0, 1, 2}));
}

TEST(Topology, ThisHostsNodesParse) {
  // Whatever this machine is, its own sysfs parses and every CPU we may run on belongs to some node.
  const auto nodes = read_numa_nodes("/sys/devices/system/node", allowed_cpus());
  ASSERT_FALSE(nodes.empty());
  for (int cpu : allowed_cpus()) {
    bool found = false;
    for (const auto& n : nodes) found = found || std::binary_search(n.cpus.begin(), n.cpus.end(), cpu);
    EXPECT_TRUE(found) << "CPU " << cpu;
  }
}

}  // namespace
}  // namespace ghtier::detail
