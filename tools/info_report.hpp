// What `ghtier info` prints, as pure functions of a Platform: the text and JSON forms for a device or a
// profile, and the report for a machine without a CUDA device. Tested in CI with the built-in profiles.
#pragma once

#include <string>
#include <string_view>

#include "core/platform/topology.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier::tools {

/// CUDA versions as CUDA encodes them (1000 * major + 10 * minor); 0 = unknown / not present.
struct CudaVersions {
  int built_with = 0;  ///< CUDART_VERSION of the toolkit ghtier was built with
  int runtime = 0;     ///< cudaRuntimeGetVersion
  int driver = 0;      ///< cudaDriverGetVersion: the newest CUDA the driver supports; 0 without a driver
};

/// What the report is about: "device 0" or "profile gh200-c2c", and whether it is a profile (no hardware).
struct InfoSubject {
  std::string description;
  bool assumed = false;
};

/// 13000 -> "13.0", 12080 -> "12.8", 0 -> "none".
[[nodiscard]] std::string format_cuda_version(int version);

/// The human-readable report: device, platform, memory modes, link model, moves between modes, and with a
/// topology the host's GPUs, NUMA nodes and peer links (format_topology_text).
[[nodiscard]] std::string format_info_text(const Platform& platform, const InfoSubject& subject,
                                           const CudaVersions& versions,
                                           const detail::SystemTopology* topology = nullptr);
/// The same as a JSON object (keys: ghtier_version, subject, assumed, cuda, device, platform,
/// memory_modes, link, moves, and "topology" (detail::topology_to_json) when one is given).
[[nodiscard]] std::string format_info_json(const Platform& platform, const InfoSubject& subject,
                                           const CudaVersions& versions,
                                           const detail::SystemTopology* topology = nullptr);
/// The topology section: each GPU with its PCI bus id and NUMA node (and the node ghtier places its host tier
/// and copy threads on), the NUMA nodes with their CPUs, and a matrix of the link between every pair.
[[nodiscard]] std::string format_topology_text(const detail::SystemTopology& topology);

/// The report where no CUDA device is visible: CUDA's error text, the versions that are known, the
/// built-in profiles and how to look at one (ghtier info --assume NAME).
[[nodiscard]] std::string format_no_device_text(std::string_view error, const CudaVersions& versions);
/// The same as JSON: {"error": {"code": "no_device", "message": ...}, "cuda": ..., "profiles": [...]}.
[[nodiscard]] std::string format_no_device_json(std::string_view error, const CudaVersions& versions);

}  // namespace ghtier::tools
