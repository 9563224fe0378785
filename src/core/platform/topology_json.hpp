// SystemTopology as JSON (`ghtier info --json`'s "topology", recorded topologies for tests and for
// machines one cannot reach) and back.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/platform/topology.hpp"

namespace ghtier::detail {

/// {"gpus": [{"index", "name", "pci_bus_id", "host_numa_node" (null: none)}], "peers": [{"from", "to",
///  "access", "performance_rank" (null: not reported), "native_atomics", "link"}], "numa_nodes": [{"node",
///  "cpus" (a CPU list, "0-3,8")}], "source"}.
[[nodiscard]] nlohmann::ordered_json topology_to_json(const SystemTopology& topology);
/// The same, as one document.
[[nodiscard]] std::string to_json_text(const SystemTopology& topology);
/// Reads what topology_to_json wrote and validates it. Throws Error(invalid_argument) naming the key that is
/// missing or of the wrong type, or the inconsistency validate() found.
[[nodiscard]] SystemTopology topology_from_json(std::string_view text);
/// topology_from_json of a file; its source becomes the path when the file names none. Throws Error(io_error)
/// for a file that cannot be read, and as topology_from_json.
[[nodiscard]] SystemTopology load_topology(const std::filesystem::path& path);

}  // namespace ghtier::detail
