// Recorded topologies (detail::topology_from_json, `load_topology`) and CPU lists (parse_cpu_list, what sysfs
// and the topology files hold). Any text: a topology that validate() accepts, or a ghtier::Error; an accepted
// one survives its JSON form unchanged, and every decision made from it (the NUMA node of each GPU, its peers)
// returns. A CPU list that parses is sorted, unique, in range, and reads back from format_cpu_list.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/platform/cpu_list.hpp"
#include "core/platform/topology.hpp"
#include "core/platform/topology_json.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ghtier;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  std::vector<int> cpus;
  if (fuzz::returns_or_refuses([&] { cpus = detail::parse_cpu_list(text); })) {
    fuzz::check(std::is_sorted(cpus.begin(), cpus.end()) && std::adjacent_find(cpus.begin(), cpus.end()) == cpus.end(),
                "a parsed CPU list is not sorted and unique");
    fuzz::check(cpus.empty() || (cpus.front() >= 0 && cpus.back() <= detail::max_cpu_id), "a CPU id out of range");
    fuzz::check(detail::parse_cpu_list(detail::format_cpu_list(cpus)) == cpus, "a CPU list changed through its text");
  }

  detail::SystemTopology topology;
  if (!fuzz::returns_or_refuses([&] { topology = detail::topology_from_json(text); })) return 0;
  const std::string saved = detail::to_json_text(topology);
  detail::SystemTopology again;
  fuzz::check(fuzz::returns_or_refuses([&] { again = detail::topology_from_json(saved); }),
              "the JSON form of an accepted topology is refused when read back");
  fuzz::check(detail::to_json_text(again) == saved, "a topology changed through its JSON form");
  for (const detail::TopologyGpu& gpu : topology.gpus) {
    const int node = detail::numa_node_for_gpu(topology, gpu.index);
    fuzz::check(node == -1 || std::any_of(topology.nodes.begin(), topology.nodes.end(),
                                          [node](const detail::TopologyNumaNode& n) { return n.node == node; }),
                "a GPU's chosen NUMA node is not one of the host's");
    for (int peer : detail::peers_of(topology, gpu.index)) {
      fuzz::check(detail::topology_peer(topology, gpu.index, peer).access, "a peer without access");
    }
  }
  return 0;
}
