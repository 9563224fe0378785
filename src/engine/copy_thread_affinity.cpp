// choose_copy_thread_cpus (pure), its inputs on this host, and pin_this_thread.
#include "engine/copy_thread_affinity.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string_view>

#include <fmt/format.h>

#include "core/platform/cpu_list.hpp"
#include "core/platform/topology.hpp"

namespace ghtier::detail {

CopyThreadAffinity choose_copy_thread_cpus(bool enabled, int node, const std::vector<int>& node_cpus,
                                           const std::vector<int>& allowed) {
  if (!enabled) return {{}, "copy threads: affinity turned off; the OS places them"};
  if (node < 0) return {{}, "copy threads: the GPU's host NUMA node is unknown; the OS places them"};
  if (node_cpus.empty()) {
    return {{}, fmt::format("copy threads: NUMA node {} has no CPUs (memory only); the OS places them", node)};
  }
  std::vector<int> a = node_cpus;
  std::vector<int> b = allowed;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<int> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  both.erase(std::unique(both.begin(), both.end()), both.end());
  if (both.empty()) {
    return {{},
            fmt::format("copy threads: none of NUMA node {}'s CPUs ({}) is allowed to this process ({}); left as "
                        "they are",
                        node, format_cpu_list(a), format_cpu_list(b))};
  }
  std::string note = fmt::format("copy threads: on NUMA node {}'s CPUs {}", node, format_cpu_list(both));
  return {std::move(both), std::move(note)};
}

CopyThreadAffinity copy_thread_affinity_for(const Platform& platform, bool enabled) noexcept {
  try {
    if (const char* env = std::getenv("GHTIER_COPY_THREAD_AFFINITY")) {
      const std::string_view value(env);
      if (value == "0" || value == "off") enabled = false;
    }
    if (!enabled) return choose_copy_thread_cpus(false, -1, {}, {});
    const std::vector<int> allowed = allowed_cpus();
    const std::vector<TopologyNumaNode> nodes = read_numa_nodes("/sys/devices/system/node", allowed);
    const int node = choose_numa_node(platform.attributes.host_numa_id, nodes);
    std::vector<int> node_cpus;
    for (const TopologyNumaNode& n : nodes) {
      if (n.node == node) node_cpus = n.cpus;
    }
    return choose_copy_thread_cpus(true, node, node_cpus, allowed);
  } catch (const std::exception& e) {
    return {{},
            fmt::format("copy threads: the host's NUMA nodes could not be read ({}); the OS places them", e.what())};
  } catch (...) {
    return {{}, "copy threads: the host's NUMA nodes could not be read; the OS places them"};
  }
}

std::string pin_this_thread(const std::vector<int>& cpus) noexcept {
  try {
    if (cpus.empty()) return {};
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu : cpus) {
      if (cpu < 0 || cpu >= CPU_SETSIZE) return fmt::format("CPU {} is outside the affinity mask", cpu);
      CPU_SET(cpu, &set);
    }
    const int error = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (error != 0) return fmt::format("pthread_setaffinity_np: {}", std::strerror(error));
    return {};
  } catch (...) {
    return "out of memory while formatting the reason";
  }
}

}  // namespace ghtier::detail
