// SystemTopology <-> JSON, over nlohmann through json_object (duplicate keys and malformed text refused).
#include "core/platform/topology_json.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/platform/cpu_list.hpp"
#include "core/support/json_object.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {

using Json = nlohmann::json;

[[noreturn]] void refuse(const std::string& text) {
  throw_error(ErrorCode::invalid_argument, "topology JSON: " + text);
}

const Json& member(const Json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) refuse(fmt::format("{} lacks \"{}\"", where, key));
  return *it;
}

const Json& array_member(const Json& object, const char* key, const std::string& where) {
  const Json& value = member(object, key, where);
  if (!value.is_array()) refuse(fmt::format("{}: \"{}\" is not an array", where, key));
  return value;
}

int int_member(const Json& object, const char* key, const std::string& where, bool nullable) {
  const Json& value = member(object, key, where);
  if (nullable && value.is_null()) return -1;
  if (!value.is_number_integer()) {
    refuse(fmt::format("{}: \"{}\" is not an integer{}", where, key, nullable ? " or null" : ""));
  }
  const auto v = value.get<long long>();
  if (v < -1 || v > 1'000'000) refuse(fmt::format("{}: \"{}\" = {} is out of range", where, key, v));
  return static_cast<int>(v);
}

bool bool_member(const Json& object, const char* key, const std::string& where) {
  const Json& value = member(object, key, where);
  if (!value.is_boolean()) refuse(fmt::format("{}: \"{}\" is not true or false", where, key));
  return value.get<bool>();
}

std::string string_member(const Json& object, const char* key, const std::string& where) {
  const Json& value = member(object, key, where);
  if (!value.is_string()) refuse(fmt::format("{}: \"{}\" is not a string", where, key));
  return value.get<std::string>();
}

void require_object(const Json& value, const std::string& where) {
  if (!value.is_object()) refuse(fmt::format("{} is not an object", where));
}

nlohmann::ordered_json id_or_null(int id) { return id >= 0 ? nlohmann::ordered_json(id) : nullptr; }

}  // namespace

nlohmann::ordered_json topology_to_json(const SystemTopology& t) {
  nlohmann::ordered_json out;
  out["source"] = t.source;
  auto& gpus = out["gpus"] = nlohmann::ordered_json::array();
  for (const TopologyGpu& g : t.gpus) {
    gpus.push_back({{"index", g.index},
                    {"name", g.name},
                    {"pci_bus_id", g.pci_bus_id},
                    {"host_numa_node", id_or_null(g.host_numa_node)}});
  }
  auto& peers = out["peers"] = nlohmann::ordered_json::array();
  for (const TopologyPeer& p : t.peers) {
    peers.push_back({{"from", p.from},
                     {"to", p.to},
                     {"access", p.access},
                     {"performance_rank", id_or_null(p.performance_rank)},
                     {"native_atomics", p.native_atomics},
                     {"link", to_string(p.link)}});
  }
  auto& nodes = out["numa_nodes"] = nlohmann::ordered_json::array();
  for (const TopologyNumaNode& n : t.nodes) nodes.push_back({{"node", n.node}, {"cpus", format_cpu_list(n.cpus)}});
  return out;
}

std::string to_json_text(const SystemTopology& topology) { return dump_json_document(topology_to_json(topology)); }

SystemTopology topology_from_json(std::string_view text) {
  const Json json = parse_json_object(text, "topology");
  SystemTopology t;
  if (auto it = json.find("source"); it != json.end() && it->is_string()) t.source = it->get<std::string>();
  const Json& gpus = array_member(json, "gpus", "the topology");
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    const std::string where = fmt::format("gpus[{}]", i);
    require_object(gpus[i], where);
    TopologyGpu g;
    g.index = int_member(gpus[i], "index", where, false);
    g.name = string_member(gpus[i], "name", where);
    g.pci_bus_id = string_member(gpus[i], "pci_bus_id", where);
    g.host_numa_node = int_member(gpus[i], "host_numa_node", where, true);
    t.gpus.push_back(std::move(g));
  }
  const Json& peers = array_member(json, "peers", "the topology");
  for (std::size_t i = 0; i < peers.size(); ++i) {
    const std::string where = fmt::format("peers[{}]", i);
    require_object(peers[i], where);
    TopologyPeer p;
    p.from = int_member(peers[i], "from", where, false);
    p.to = int_member(peers[i], "to", where, false);
    p.access = bool_member(peers[i], "access", where);
    p.performance_rank = int_member(peers[i], "performance_rank", where, true);
    p.native_atomics = bool_member(peers[i], "native_atomics", where);
    try {
      p.link = peer_link_from_string(string_member(peers[i], "link", where));
    } catch (const Error& e) {
      refuse(fmt::format("{}: {}", where, e.what()));
    }
    t.peers.push_back(p);
  }
  const Json& nodes = array_member(json, "numa_nodes", "the topology");
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const std::string where = fmt::format("numa_nodes[{}]", i);
    require_object(nodes[i], where);
    TopologyNumaNode n;
    n.node = int_member(nodes[i], "node", where, false);
    n.cpus = parse_cpu_list(string_member(nodes[i], "cpus", where), "topology JSON: " + where + ".cpus");
    t.nodes.push_back(std::move(n));
  }
  validate(t);
  return t;
}

SystemTopology load_topology(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw_error(ErrorCode::io_error, fmt::format("cannot open topology file '{}'", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  SystemTopology t;
  try {
    t = topology_from_json(text.str());
  } catch (const Error& e) {
    throw_error(e.code(), fmt::format("{}: {}", path.string(), e.what()), e.cuda_status());
  }
  if (t.source.empty()) t.source = path.string();
  return t;
}

}  // namespace ghtier::detail
