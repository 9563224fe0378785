// The topology section of `ghtier info` from recorded (hand-written) topologies: every GPU with its node and
// the node ghtier uses, every NUMA node's CPUs, the pair matrix; and the JSON form reads back.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "core/platform/topology.hpp"
#include "core/platform/topology_json.hpp"
#include "ghtier/platform/platform.hpp"
#include "info_report.hpp"

namespace ghtier::tools {
namespace {

detail::SystemTopology fixture(const char* name) {
  return detail::load_topology(std::filesystem::path(GHTIER_TOPOLOGY_FIXTURES) / name);
}

// The line of `text` that starts (after its indent) with `start`, or "".
std::string line_starting(const std::string& text, const std::string& start) {
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    const std::size_t first = line.find_first_not_of(' ');
    if (first != std::string::npos && line.compare(first, start.size(), start) == 0) return line;
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return {};
}

TEST(InfoTopology, TextShowsGpusNodesAndPairs) {
  const detail::SystemTopology t = fixture("four_gpus_two_nodes_pcie.json");
  const std::string text = format_topology_text(t);
  EXPECT_NE(text.find("Topology (4 GPU(s), 2 NUMA node(s)"), std::string::npos) << text;
  // GPU 2: bus id, the driver's node 1, ghtier uses node 1.
  const std::string gpu2 = line_starting(text, "2    ");
  EXPECT_NE(gpu2.find("0000:39:00.0"), std::string::npos) << text;
  EXPECT_NE(gpu2.find("1          1"), std::string::npos) << gpu2;
  EXPECT_NE(text.find("NUMA node 1: CPUs 24-47,72-95"), std::string::npos) << text;
  // Row GPU 0: itself, PCIe to 1, nothing to 2 and 3.
  const std::string row0 = line_starting(text, "GPU 0 x");
  EXPECT_EQ(row0, "  GPU 0 x           pcie r1     -           -") << text;
  const std::string row3 = line_starting(text, "GPU 3 -");
  EXPECT_EQ(row3, "  GPU 3 -           -           pcie r1     x") << text;

  const std::string nvlink = format_topology_text(fixture("eight_gpus_two_nodes_nvlink.json"));
  EXPECT_NE(line_starting(nvlink, "GPU 7 n").find("nvlink r0 *"), std::string::npos) << nvlink;
  EXPECT_EQ(line_starting(nvlink, "GPU 7 n").find(" - "), std::string::npos) << nvlink;
}

TEST(InfoTopology, UnknownNodesSaySo) {
  const std::string text = format_topology_text(fixture("two_gpus_two_nodes_unknown_node.json"));
  const std::string gpu0 = line_starting(text, "0    ");
  EXPECT_NE(gpu0.find("-          none"), std::string::npos) << text;  // driver names none; ghtier places none
  const std::string gpu1 = line_starting(text, "1    ");
  EXPECT_NE(gpu1.find("3          none"), std::string::npos) << text;  // node 3 is not on this host
}

TEST(InfoTopology, ReportCarriesTheSectionAndJsonReadsBack) {
  const detail::SystemTopology t = fixture("eight_gpus_two_nodes_nvlink.json");
  const Platform platform = assume_platform("x86-h100-pcie");
  const std::string text = format_info_text(platform, {"device 0", false}, CudaVersions{}, &t);
  EXPECT_NE(text.find("Topology (8 GPU(s)"), std::string::npos);
  EXPECT_EQ(format_info_text(platform, {"device 0", false}, CudaVersions{}).find("Topology"), std::string::npos);

  const auto json = nlohmann::json::parse(format_info_json(platform, {"device 0", false}, CudaVersions{}, &t));
  ASSERT_TRUE(json.contains("topology"));
  EXPECT_EQ(json["topology"]["gpus"].size(), 8u);
  EXPECT_EQ(json["topology"]["numa_node_used"], nlohmann::json({0, 0, 0, 0, 1, 1, 1, 1}));
  const detail::SystemTopology again = detail::topology_from_json(json["topology"].dump());
  EXPECT_EQ(detail::to_json_text(again), detail::to_json_text(t));
  EXPECT_FALSE(
      nlohmann::json::parse(format_info_json(platform, {"device 0", false}, CudaVersions{})).contains("topology"));
}

}  // namespace
}  // namespace ghtier::tools
