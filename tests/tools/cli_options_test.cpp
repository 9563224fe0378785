// parse_command_line: every accepted form gives the expected values; every refused one names the argument.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli_options.hpp"

namespace ghtier::tools {
namespace {

Command parse(std::vector<std::string_view> args) { return parse_command_line(args); }

// The UsageError's text, or a test failure when parsing succeeded.
std::string usage_error(std::vector<std::string_view> args) {
  try {
    (void)parse_command_line(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a UsageError";
  return {};
}

TEST(CliOptions, InfoDefaults) {
  const auto options = std::get<InfoOptions>(parse({"info"}));
  EXPECT_FALSE(options.json);
  EXPECT_FALSE(options.assume);
  EXPECT_EQ(options.device, 0);
  EXPECT_FALSE(options.link_file);
  EXPECT_FALSE(options.calibrate);
  EXPECT_FALSE(options.save_file);
}

TEST(CliOptions, InfoAllFlagsBothSpellings) {
  const auto a = std::get<InfoOptions>(parse({"info", "--json", "--assume", "gh200", "--link", "l.json"}));
  EXPECT_TRUE(a.json);
  EXPECT_EQ(a.assume, "gh200");
  EXPECT_EQ(a.link_file, "l.json");
  const auto b = std::get<InfoOptions>(parse({"info", "--device=3", "--calibrate", "--save=out.json"}));
  EXPECT_EQ(b.device, 3);
  EXPECT_TRUE(b.calibrate);
  EXPECT_EQ(b.save_file, "out.json");
  const auto c = std::get<InfoOptions>(parse({"info", "--assume=x86-h100-pcie"}));
  EXPECT_EQ(c.assume, "x86-h100-pcie");
}

TEST(CliOptions, BenchFlags) {
  const auto defaults = std::get<BenchCommandOptions>(parse({"bench"}));
  EXPECT_FALSE(defaults.quick);
  EXPECT_FALSE(defaults.json_file);
  EXPECT_FALSE(defaults.filter);
  EXPECT_EQ(defaults.device, 0);
  const auto o = std::get<BenchCommandOptions>(
      parse({"bench", "--quick", "--json", "out/b.json", "--filter", "memcpy/(pinned|device)_to", "--device", "1"}));
  EXPECT_TRUE(o.quick);
  EXPECT_EQ(o.json_file, "out/b.json");
  EXPECT_EQ(o.filter, "memcpy/(pinned|device)_to");
  EXPECT_EQ(o.device, 1);
}

TEST(CliOptions, HelpAndVersion) {
  EXPECT_EQ(std::get<HelpRequest>(parse({"--help"})).topic, "");
  EXPECT_EQ(std::get<HelpRequest>(parse({"-h"})).topic, "");
  EXPECT_EQ(std::get<HelpRequest>(parse({"help", "bench"})).topic, "bench");
  EXPECT_EQ(std::get<HelpRequest>(parse({"info", "--json", "--help"})).topic, "info");
  EXPECT_EQ(std::get<HelpRequest>(parse({"bench", "-h"})).topic, "bench");
  EXPECT_TRUE(std::holds_alternative<VersionRequest>(parse({"version"})));
  EXPECT_TRUE(std::holds_alternative<VersionRequest>(parse({"--version"})));
}

TEST(CliOptions, RefusesUnknownCommandsAndFlagsByName) {
  EXPECT_NE(usage_error({}).find("missing command"), std::string::npos);
  EXPECT_NE(usage_error({"frobnicate"}).find("'frobnicate'"), std::string::npos);
  EXPECT_NE(usage_error({"--frob"}).find("'--frob'"), std::string::npos);
  EXPECT_NE(usage_error({"info", "--frob"}).find("'--frob'"), std::string::npos);
  EXPECT_NE(usage_error({"bench", "--jsno", "x"}).find("'--jsno'"), std::string::npos);
  EXPECT_NE(usage_error({"info", "extra"}).find("'extra'"), std::string::npos);
  EXPECT_NE(usage_error({"version", "x"}).find("'x'"), std::string::npos);
  EXPECT_NE(usage_error({"help", "frob"}).find("'frob'"), std::string::npos);
}

TEST(CliOptions, RefusesMissingOrMalformedValues) {
  EXPECT_NE(usage_error({"info", "--assume"}).find("--assume needs"), std::string::npos);
  EXPECT_NE(usage_error({"bench", "--json"}).find("--json needs"), std::string::npos);
  EXPECT_NE(usage_error({"bench", "--json", "--quick"}).find("'--quick'"), std::string::npos);
  EXPECT_NE(usage_error({"bench", "--json="}).find("empty"), std::string::npos);
  EXPECT_NE(usage_error({"info", "--device", "x"}).find("'x'"), std::string::npos);
  EXPECT_NE(usage_error({"info", "--device", "-1"}).find("'-1'"), std::string::npos);
  EXPECT_NE(usage_error({"bench", "--device=1x"}).find("'1x'"), std::string::npos);
  EXPECT_NE(usage_error({"info", "--json=yes"}).find("takes no value"), std::string::npos);
  EXPECT_NE(usage_error({"bench", "--quick=1"}).find("takes no value"), std::string::npos);
}

TEST(CliOptions, RefusesUnknownProfileListingTheKnownOnes) {
  const std::string message = usage_error({"info", "--assume", "gh300"});
  EXPECT_NE(message.find("'gh300'"), std::string::npos);
  EXPECT_NE(message.find("gh200"), std::string::npos);
  EXPECT_NE(message.find("x86-h100-pcie"), std::string::npos);
  EXPECT_NE(message.find("pcie-gen5"), std::string::npos);
  EXPECT_NE(message.find("gh200-c2c"), std::string::npos);
  EXPECT_NE(message.find("deprecated"), std::string::npos) << message;
}

TEST(CliOptions, AssumeTakesLinkClassNamesAndTheDeprecatedOnes) {
  for (const char* name : {"gh200-c2c", "pcie-gen5", "pcie-gen5-hmm", "gh200", "x86-h100-pcie", "x86-h100-hmm"}) {
    const auto options = std::get<InfoOptions>(parse({"info", "--assume", name}));
    EXPECT_EQ(options.assume, name);
  }
  EXPECT_NE(usage_error({"info", "--assume", "pcie-gen6"}).find("'pcie-gen6'"), std::string::npos);
}

TEST(CliOptions, RefusesInvalidFilter) {
  EXPECT_NE(usage_error({"bench", "--filter", "memcpy/(pinned"}).find("'memcpy/(pinned'"), std::string::npos);
}

TEST(CliOptions, RefusesDuplicatesAndContradictions) {
  EXPECT_NE(usage_error({"info", "--json", "--json"}).find("twice"), std::string::npos);
  EXPECT_NE(usage_error({"bench", "--filter", "a", "--filter=b"}).find("twice"), std::string::npos);
  EXPECT_NE(usage_error({"info", "--save", "x.json"}).find("--calibrate"), std::string::npos);
  EXPECT_NE(usage_error({"info", "--calibrate", "--assume", "gh200"}).find("--assume"), std::string::npos);
  EXPECT_NE(usage_error({"info", "--calibrate", "--link", "l.json"}).find("--link"), std::string::npos);
  EXPECT_NE(usage_error({"info", "--assume", "gh200", "--device", "1"}).find("--device"), std::string::npos);
}

TEST(CliOptions, UsageTextListsFlagsAndExitStatuses) {
  EXPECT_NE(usage_text().find("info"), std::string::npos);
  EXPECT_NE(usage_text().find("bench"), std::string::npos);
  for (std::string_view topic : {"", "info", "bench"}) {
    const std::string text = usage_text(topic);
    EXPECT_NE(text.find("Exit status"), std::string::npos) << topic;
    EXPECT_NE(text.find("2  no CUDA device"), std::string::npos) << topic;
  }
  EXPECT_NE(usage_text("info").find("--calibrate"), std::string::npos);
  EXPECT_NE(usage_text("info").find("gh200"), std::string::npos);
  EXPECT_NE(usage_text("bench").find("--filter"), std::string::npos);
}

}  // namespace
}  // namespace ghtier::tools
