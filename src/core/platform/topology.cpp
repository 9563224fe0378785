// SystemTopology's checks and the decisions made from it (peers, NUMA node of a GPU), and the host's NUMA
// nodes read from sysfs. Nothing here touches CUDA (topology_query.cpp does).
#include "core/platform/topology.hpp"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "core/platform/cpu_list.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

std::string_view to_string(PeerLink link) noexcept {
  switch (link) {
    case PeerLink::none: return "none";
    case PeerLink::pcie: return "pcie";
    case PeerLink::nvlink: return "nvlink";
  }
  return "unknown";
}

PeerLink peer_link_from_string(std::string_view name) {
  for (PeerLink link : {PeerLink::none, PeerLink::pcie, PeerLink::nvlink}) {
    if (name == to_string(link)) return link;
  }
  throw_error(ErrorCode::invalid_argument,
              fmt::format("topology: peer link \"{}\" is not one of none, pcie, nvlink", name));
}

void validate(const SystemTopology& t) {
  auto refuse = [](std::string text) { throw_error(ErrorCode::invalid_argument, "topology: " + text); };
  const int gpus = static_cast<int>(t.gpus.size());
  for (int i = 0; i < gpus; ++i) {
    const TopologyGpu& g = t.gpus[static_cast<std::size_t>(i)];
    if (g.index != i) refuse(fmt::format("GPU number {} in the list has index {} (expected {})", i, g.index, i));
    if (g.host_numa_node < -1) refuse(fmt::format("GPU {} has NUMA node {} (a node id, or -1)", i, g.host_numa_node));
  }
  std::set<std::pair<int, int>> seen;
  for (const TopologyPeer& p : t.peers) {
    if (p.from < 0 || p.from >= gpus || p.to < 0 || p.to >= gpus) {
      refuse(fmt::format("peer pair {} -> {} names a GPU that does not exist ({} GPUs)", p.from, p.to, gpus));
    }
    if (p.from == p.to) refuse(fmt::format("peer pair {} -> {} pairs a GPU with itself", p.from, p.to));
    if (!seen.emplace(p.from, p.to).second) refuse(fmt::format("peer pair {} -> {} is given twice", p.from, p.to));
    if (p.access != (p.link != PeerLink::none)) {
      refuse(fmt::format("peer pair {} -> {}: access {} with link {} (a link needs access and access a link)", p.from,
                         p.to, p.access, to_string(p.link)));
    }
    if (p.performance_rank < -1)
      refuse(fmt::format("peer pair {} -> {}: performance rank {}", p.from, p.to, p.performance_rank));
  }
  const std::size_t pairs = static_cast<std::size_t>(gpus) * static_cast<std::size_t>(gpus > 0 ? gpus - 1 : 0);
  if (seen.size() != pairs) {
    for (int a = 0; a < gpus; ++a) {
      for (int b = 0; b < gpus; ++b) {
        if (a != b && !seen.contains({a, b})) refuse(fmt::format("peer pair {} -> {} is missing", a, b));
      }
    }
  }
  for (std::size_t i = 0; i < t.nodes.size(); ++i) {
    if (t.nodes[i].node < 0) refuse(fmt::format("NUMA node id {} is negative", t.nodes[i].node));
    if (i > 0 && t.nodes[i].node <= t.nodes[i - 1].node) {
      refuse(fmt::format("NUMA node {} follows node {}: ids must ascend, each once", t.nodes[i].node,
                         t.nodes[i - 1].node));
    }
  }
}

const TopologyGpu& topology_gpu(const SystemTopology& t, int gpu) {
  if (gpu < 0 || gpu >= static_cast<int>(t.gpus.size())) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("topology: GPU {} does not exist ({} GPUs)", gpu, t.gpus.size()));
  }
  return t.gpus[static_cast<std::size_t>(gpu)];
}

const TopologyPeer& topology_peer(const SystemTopology& t, int from, int to) {
  (void)topology_gpu(t, from);
  (void)topology_gpu(t, to);
  for (const TopologyPeer& p : t.peers) {
    if (p.from == from && p.to == to) return p;
  }
  throw_error(ErrorCode::invalid_argument, fmt::format("topology: no peer pair {} -> {}", from, to));
}

std::vector<int> peers_of(const SystemTopology& t, int gpu) {
  (void)topology_gpu(t, gpu);
  std::vector<int> out;
  for (const TopologyPeer& p : t.peers) {
    if (p.from == gpu && p.access) out.push_back(p.to);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool mutual_peers(const SystemTopology& t, int a, int b) {
  return topology_peer(t, a, b).access && topology_peer(t, b, a).access;
}

int choose_numa_node(int named, const std::vector<TopologyNumaNode>& nodes) noexcept {
  const bool host_has =
      std::any_of(nodes.begin(), nodes.end(), [named](const TopologyNumaNode& n) { return n.node == named; });
  if (named >= 0 && host_has) return named;
  if (nodes.size() == 1) return nodes.front().node;
  return -1;
}

int numa_node_for_gpu(const SystemTopology& t, int gpu) {
  return choose_numa_node(topology_gpu(t, gpu).host_numa_node, t.nodes);
}

std::vector<int> cpus_of_node(const SystemTopology& t, int node) {
  for (const TopologyNumaNode& n : t.nodes) {
    if (n.node == node) return n.cpus;
  }
  return {};
}

std::vector<TopologyNumaNode> read_numa_nodes(const std::filesystem::path& node_root,
                                              const std::vector<int>& fallback_cpus) {
  std::vector<TopologyNumaNode> nodes;
  std::error_code ec;
  std::filesystem::directory_iterator it(node_root, ec);
  if (ec) return {TopologyNumaNode{0, fallback_cpus}};
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= 4 || name.rfind("node", 0) != 0 || name.size() > 9 ||
        name.find_first_not_of("0123456789", 4) != std::string::npos) {
      continue;
    }
    const std::filesystem::path cpulist = entry.path() / "cpulist";
    std::ifstream in(cpulist);
    if (!in) throw_error(ErrorCode::io_error, fmt::format("cannot read {}", cpulist.string()));
    std::ostringstream text;
    text << in.rdbuf();
    TopologyNumaNode node;
    node.node = std::stoi(name.substr(4));
    node.cpus = parse_cpu_list(text.str(), cpulist.string());
    nodes.push_back(std::move(node));
  }
  if (nodes.empty()) return {TopologyNumaNode{0, fallback_cpus}};
  std::sort(nodes.begin(), nodes.end(), [](const auto& a, const auto& b) { return a.node < b.node; });
  return nodes;
}

std::vector<int> allowed_cpus() noexcept {
  try {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return {};
    std::vector<int> out;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) out.push_back(cpu);
    }
    return out;
  } catch (...) {
    return {};
  }
}

}  // namespace ghtier::detail
