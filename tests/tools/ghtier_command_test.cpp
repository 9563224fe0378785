// Runs the built `ghtier` binary: help, version, usage errors, `info --assume` (text and JSON), `--link`,
// and the documented "no device" exit status (2) where no GPU is visible (skipped where one is).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>

#include "ghtier/platform/link_model.hpp"
#include "ghtier/version.hpp"
#include "test_support.hpp"

namespace {

struct Outcome {
  int status = -1;
  std::string output;
};

// Runs `ghtier ARGS` through the shell; `redirect` says what happens to stderr ("2>&1" or "2>/dev/null").
Outcome run_ghtier(const std::string& args, const std::string& redirect = "2>&1") {
  const std::string command = std::string("'") + GHTIER_COMMAND_PATH + "' " + args + " " + redirect;
  Outcome outcome;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed for " << command;
    return outcome;
  }
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) outcome.output.append(buffer, n);
  const int wait_status = pclose(pipe);
  outcome.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
  return outcome;
}

bool has_json_entry(const std::string& json, const std::string& key, const std::string& value) {
  return std::regex_search(json, std::regex("\"" + key + "\"\\s*:\\s*" + value));
}

TEST(GhtierCommand, HelpAndVersion) {
  const Outcome help = run_ghtier("--help");
  EXPECT_EQ(help.status, 0) << help.output;
  EXPECT_NE(help.output.find("Usage: ghtier COMMAND"), std::string::npos) << help.output;
  const Outcome info_help = run_ghtier("info --help");
  EXPECT_EQ(info_help.status, 0);
  EXPECT_NE(info_help.output.find("--assume PROFILE"), std::string::npos) << info_help.output;
  const Outcome version = run_ghtier("version");
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.output, std::string("ghtier ") + ghtier::version_string() + "\n");
}

TEST(GhtierCommand, UsageErrorsExitOneAndNameTheArgument) {
  const Outcome no_command = run_ghtier("");
  EXPECT_EQ(no_command.status, 1);
  EXPECT_NE(no_command.output.find("missing command"), std::string::npos) << no_command.output;
  const Outcome bad_command = run_ghtier("frobnicate");
  EXPECT_EQ(bad_command.status, 1);
  EXPECT_NE(bad_command.output.find("'frobnicate'"), std::string::npos) << bad_command.output;
  const Outcome bad_flag = run_ghtier("info --frob");
  EXPECT_EQ(bad_flag.status, 1);
  EXPECT_NE(bad_flag.output.find("'--frob'"), std::string::npos) << bad_flag.output;
  const Outcome bad_profile = run_ghtier("info --assume gh300");
  EXPECT_EQ(bad_profile.status, 1);
  EXPECT_NE(bad_profile.output.find("'gh300'"), std::string::npos) << bad_profile.output;
  const Outcome bad_filter = run_ghtier("bench --filter '(unclosed'");
  EXPECT_EQ(bad_filter.status, 1);
  EXPECT_NE(bad_filter.output.find("'(unclosed'"), std::string::npos) << bad_filter.output;
}

TEST(GhtierCommand, PlanActivationsNeedsNoGpu) {
  const Outcome o = run_ghtier("plan activations --profile gh200");
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("Activation plan: 16 layers"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("this plan"), std::string::npos) << o.output;
  const Outcome bad = run_ghtier("plan activations --layer-file /nonexistent/layers.txt");
  EXPECT_EQ(bad.status, 3) << bad.output;
  EXPECT_NE(bad.output.find("/nonexistent/layers.txt"), std::string::npos) << bad.output;
}

TEST(GhtierCommand, InfoAssumeGh200Json) {
  const Outcome o = run_ghtier("info --assume gh200 --json", "2>/dev/null");
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(o.output.front(), '{');
  EXPECT_EQ(o.output.substr(o.output.size() - 2), "}\n") << "one JSON document, nothing after it";
  EXPECT_TRUE(has_json_entry(o.output, "class", "\"coherent-c2c\"")) << o.output;
  EXPECT_TRUE(has_json_entry(o.output, "host_access", "\"ats\"")) << o.output;
  EXPECT_TRUE(has_json_entry(o.output, "coherent", "true")) << o.output;
  EXPECT_TRUE(has_json_entry(o.output, "gpu_reads_pageable", "true")) << o.output;
  EXPECT_TRUE(has_json_entry(o.output, "source", "\"profile gh200-c2c\"")) << o.output;
}

TEST(GhtierCommand, InfoAssumePcieText) {
  const Outcome o = run_ghtier("info --assume x86-h100-pcie");
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_TRUE(std::regex_search(o.output, std::regex("class\\s+pcie\\n"))) << o.output;
  EXPECT_TRUE(std::regex_search(o.output, std::regex("host access\\s+none:"))) << o.output;
  EXPECT_TRUE(std::regex_search(o.output, std::regex("\\n  system\\s+staged_copy"))) << o.output;
}

TEST(GhtierCommand, InfoLinkFileReplacesTheProfileFigures) {
  auto rng = ghtier::test::fresh_rng();
  ghtier::LinkModel link = ghtier::assume_platform("gh200").link;
  link.h2d_gbps = std::uniform_real_distribution<double>(1.0, 999.0)(rng);
  link.source = "test calibration";
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("ghtier_link_" + std::to_string(rng()) + ".json");
  ghtier::save_link_model(link, file);
  const Outcome o = run_ghtier("info --assume gh200 --json --link '" + file.string() + "'", "2>/dev/null");
  std::filesystem::remove(file);
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_TRUE(has_json_entry(o.output, "source", "\"test calibration\"")) << o.output;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(o.output, match, std::regex("\"h2d_gbps\"\\s*:\\s*([-+.0-9eE]+)")));
  EXPECT_NEAR(std::stod(match[1].str()), link.h2d_gbps, 1e-9 * link.h2d_gbps);

  const Outcome missing = run_ghtier("info --assume gh200 --link /nonexistent/ghtier_link.json");
  EXPECT_EQ(missing.status, 3) << missing.output;
  EXPECT_NE(missing.output.find("/nonexistent/ghtier_link.json"), std::string::npos) << missing.output;
}

TEST(GhtierCommand, InfoWithoutGpuExitsTwoWithCudasText) {
  if (ghtier::visible_device_count() > 0) GTEST_SKIP() << "a CUDA device is visible: this checks the no-GPU path";
  const Outcome text = run_ghtier("info");
  EXPECT_EQ(text.status, 2) << text.output;
  EXPECT_NE(text.output.find("no CUDA device is visible"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("cudaGetDeviceCount"), std::string::npos) << "CUDA's own text: " << text.output;
  EXPECT_NE(text.output.find("--assume gh200"), std::string::npos) << text.output;
  const Outcome json = run_ghtier("info --json", "2>/dev/null");
  EXPECT_EQ(json.status, 2);
  EXPECT_TRUE(has_json_entry(json.output, "code", "\"no_device\"")) << json.output;
}

TEST(GhtierCommand, BenchWithoutGpuExitsTwo) {
  if (ghtier::visible_device_count() > 0) GTEST_SKIP() << "a CUDA device is visible: this checks the no-GPU path";
  const Outcome o = run_ghtier("bench --quick");
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("no CUDA device is visible"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("nothing was run"), std::string::npos) << o.output;
}

}  // namespace
