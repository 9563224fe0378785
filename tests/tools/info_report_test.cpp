// The `ghtier info` report for every built-in profile: class, host access, modes, link figures and moves
// as the library's pure functions define them; the no-device report names CUDA's error and the profiles.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <regex>
#include <string>
#include <vector>

#include "ghtier/memory/memory_mode.hpp"
#include "ghtier/platform/platform.hpp"
#include "info_report.hpp"

namespace ghtier::tools {
namespace {

// "key": value in the JSON writer's output, whatever the spacing.
bool has_json_entry(const std::string& json, const std::string& key, const std::string& value) {
  return std::regex_search(json, std::regex("\"" + key + "\"\\s*:\\s*" + value));
}

struct Expected {
  const char* profile;
  const char* platform_class;
  const char* host_access;
  bool coherent;
  const char* system_to_device;  // the move that differs most between platforms
};

class InfoReportProfiles : public ::testing::TestWithParam<Expected> {};

TEST_P(InfoReportProfiles, JsonDescribesTheProfile) {
  const Expected& e = GetParam();
  const Platform platform = assume_platform(e.profile);
  const std::string json =
      format_info_json(platform, {std::string("profile ") + e.profile, true}, CudaVersions{13000, 13000, 0});
  EXPECT_TRUE(has_json_entry(json, "class", std::string("\"") + e.platform_class + "\"")) << json;
  EXPECT_TRUE(has_json_entry(json, "host_access", std::string("\"") + e.host_access + "\"")) << json;
  EXPECT_TRUE(has_json_entry(json, "coherent", e.coherent ? "true" : "false")) << json;
  EXPECT_TRUE(has_json_entry(json, "assumed", "true")) << json;
  // An old name is an alias: the source names the profile by its current name.
  EXPECT_TRUE(has_json_entry(json, "source", "\"profile " + std::string(platform_profile(e.profile).name) + "\""))
      << json;
  EXPECT_TRUE(has_json_entry(json, "built_with", "\"13.0\"")) << json;
  EXPECT_TRUE(has_json_entry(json, "driver", "\"none\"")) << json;
  EXPECT_TRUE(std::regex_search(json, std::regex("\"from\"\\s*:\\s*\"system\",\\s*\"to\"\\s*:\\s*\"device\",\\s*"
                                                 "\"mechanism\"\\s*:\\s*\"" +
                                                 std::string(e.system_to_device) + "\"")))
      << json;
  std::size_t moves = 0;
  for (std::size_t at = json.find("\"mechanism\""); at != std::string::npos; at = json.find("\"mechanism\"", at + 1)) {
    ++moves;
  }
  EXPECT_EQ(moves, 16u);
  for (MemoryMode mode : all_memory_modes) {
    EXPECT_NE(json.find("\"" + std::string(to_string(mode)) + "\": {"), std::string::npos) << to_string(mode);
  }
  // Link figures are numbers that read back as the profile's.
  std::smatch match;
  ASSERT_TRUE(std::regex_search(json, match, std::regex("\"h2d_gbps\"\\s*:\\s*([-+.0-9eE]+)"))) << json;
  EXPECT_DOUBLE_EQ(std::stod(match[1].str()), platform.link.h2d_gbps);
}

TEST_P(InfoReportProfiles, TextDescribesTheProfile) {
  const Expected& e = GetParam();
  const Platform platform = assume_platform(e.profile);
  const std::string text =
      format_info_text(platform, {std::string("profile ") + e.profile, true}, CudaVersions{13000, 13000, 12080});
  EXPECT_NE(text.find(std::string("profile ") + e.profile), std::string::npos);
  EXPECT_NE(text.find("built-in profile"), std::string::npos);
  EXPECT_NE(text.find("driver supports CUDA 12.8"), std::string::npos);
  EXPECT_TRUE(std::regex_search(text, std::regex(std::string("class\\s+") + e.platform_class + "\\n"))) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex(std::string("host access\\s+") + e.host_access + ":"))) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex(std::string("\\n  system\\s+") + e.system_to_device))) << text;
  EXPECT_NE(text.find("latency_us"), std::string::npos);
  EXPECT_NE(text.find(platform.attributes.name), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(AllProfiles, InfoReportProfiles,
                         ::testing::Values(Expected{"gh200", "coherent-c2c", "ats", true, "copy_engine"},
                                           Expected{"x86-h100-hmm", "hmm-pcie", "hmm", false, "staged_copy"},
                                           Expected{"x86-h100-pcie", "pcie", "none", false, "staged_copy"}),
                         [](const auto& info) {
                           std::string name = info.param.profile;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

std::vector<std::string> keys_of(const nlohmann::ordered_json& object) {
  std::vector<std::string> keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  return keys;
}

// The document's shape (key order, nesting, value types) is what tools and plot scripts read.
TEST(InfoReport, JsonShapeIsStable) {
  const Platform platform = assume_platform("gh200");
  const auto json =
      nlohmann::ordered_json::parse(format_info_json(platform, {"profile gh200", true}, CudaVersions{13000, 13000, 0}));
  using Keys = std::vector<std::string>;
  EXPECT_EQ(keys_of(json), (Keys{"ghtier_version", "subject", "assumed", "cuda", "device", "platform", "memory_modes",
                                 "link", "moves"}));
  EXPECT_EQ(keys_of(json["cuda"]), (Keys{"built_with", "runtime", "driver"}));
  EXPECT_EQ(keys_of(json["device"]), (Keys{"name", "compute_capability", "sm_count", "hbm_bytes", "l2_bytes",
                                           "copy_engines", "host_numa_node", "hbm_numa_node", "attributes"}));
  EXPECT_TRUE(json["device"]["hbm_bytes"].is_number_unsigned());
  EXPECT_TRUE(json["device"]["attributes"]["pageable_memory_access"].is_boolean());
  EXPECT_EQ(keys_of(json["platform"]),
            (Keys{"class", "host_access", "coherent", "managed_migrates", "gpu_reads_pageable"}));
  EXPECT_EQ(keys_of(json["memory_modes"]), (Keys{"device", "pinned_host", "managed", "system"}));
  EXPECT_EQ(keys_of(json["memory_modes"]["system"]),
            (Keys{"gpu_access", "cpu_access", "migrates", "relocation", "lives_in", "gpu_path"}));
  EXPECT_EQ(keys_of(json["link"]).front(), "source");
  EXPECT_TRUE(json["link"]["h2d_gbps"].is_number());
  ASSERT_TRUE(json["moves"].is_array());
  EXPECT_EQ(json["moves"].size(), all_memory_modes.size() * all_memory_modes.size());
  EXPECT_EQ(keys_of(json["moves"][0]), (Keys{"from", "to", "mechanism"}));

  Platform no_numa = platform;
  no_numa.attributes.host_numa_id = -1;
  const auto without = nlohmann::json::parse(format_info_json(no_numa, {"x", false}, CudaVersions{}));
  EXPECT_TRUE(without["device"]["host_numa_node"].is_null());

  const auto no_device = nlohmann::ordered_json::parse(format_no_device_json("no GPU", CudaVersions{13000, 0, 0}));
  EXPECT_EQ(keys_of(no_device), (Keys{"ghtier_version", "error", "cuda", "profiles"}));
  EXPECT_EQ(keys_of(no_device["profiles"][0]), (Keys{"name", "description"}));
}

TEST(InfoReport, CudaVersionsReadAsCudaWritesThem) {
  EXPECT_EQ(format_cuda_version(13000), "13.0");
  EXPECT_EQ(format_cuda_version(12080), "12.8");
  EXPECT_EQ(format_cuda_version(11040), "11.4");
  EXPECT_EQ(format_cuda_version(0), "none");
}

TEST(InfoReport, NoDeviceReportNamesTheErrorAndTheProfiles) {
  const std::string error = "no CUDA device is visible: cudaGetDeviceCount: no CUDA-capable device is detected";
  const std::string text = format_no_device_text(error, CudaVersions{13000, 13000, 0});
  EXPECT_NE(text.find(error), std::string::npos);
  EXPECT_NE(text.find("no CUDA driver loaded"), std::string::npos);
  EXPECT_NE(text.find("--assume"), std::string::npos);
  const std::string json = format_no_device_json(error, CudaVersions{13000, 13000, 0});
  EXPECT_TRUE(has_json_entry(json, "code", "\"no_device\"")) << json;
  for (const PlatformProfile& profile : platform_profiles()) {
    EXPECT_NE(text.find(profile.name), std::string::npos) << profile.name;
    EXPECT_TRUE(has_json_entry(json, "name", "\"" + std::string(profile.name) + "\"")) << json;
  }
}

}  // namespace
}  // namespace ghtier::tools
