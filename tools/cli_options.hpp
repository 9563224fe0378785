// The `ghtier` command line as plain values: parse_command_line() turns argv into one Command, or throws
// UsageError naming the argument that was wrong. Pure, so every accepted and refused form is tested in CI.
#pragma once

#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "plan_kv_cache.hpp"
#include "plan_options.hpp"

namespace ghtier::tools {

/// A command line `ghtier` cannot act on; what() names the bad argument and says what was expected.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// `ghtier --help`, `ghtier help [COMMAND]`, `ghtier COMMAND --help`.
struct HelpRequest {
  std::string topic;  ///< "" (general), "info", "bench" or "plan"
};

/// `ghtier version` / `ghtier --version`.
struct VersionRequest {};

/// `ghtier info [--json] [--assume PROFILE] [--device N] [--link FILE] [--calibrate [--save FILE]]`.
struct InfoOptions {
  bool json = false;
  std::optional<std::string> assume;  ///< a built-in profile instead of a real device
  int device = 0;
  std::optional<std::string> link_file;  ///< load the link model from this file (saved by --calibrate --save)
  bool calibrate = false;                ///< measure the link model on the device
  std::optional<std::string> save_file;  ///< with --calibrate: write the measured model here
};

/// `ghtier bench [--quick] [--json FILE] [--filter REGEX] [--device N]`.
struct BenchCommandOptions {
  bool quick = false;
  std::optional<std::string> json_file;  ///< Google Benchmark's JSON of every case
  std::optional<std::string> filter;     ///< regular expression (POSIX extended) over case names
  int device = 0;
};

using Command = std::variant<HelpRequest, VersionRequest, InfoOptions, BenchCommandOptions, PlanActivationsOptions,
                             PlanWeightsOptions, PlanKvCacheOptions>;

/// Parses the arguments after the program name. Flags take their value as `--flag VALUE` or `--flag=VALUE`.
/// Throws UsageError for an unknown command or flag, a missing or malformed value, a flag given twice,
/// an unknown --assume profile, an invalid --filter regex, or flags that contradict each other.
[[nodiscard]] Command parse_command_line(std::span<const std::string_view> args);

/// The help text for a topic ("" for the overview, "info", "bench"); lists the exit statuses.
[[nodiscard]] std::string usage_text(std::string_view topic = {});

}  // namespace ghtier::tools
