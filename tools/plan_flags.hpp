// What every `ghtier plan WORKLOAD` shares: the flag loop (FLAG VALUE or FLAG=VALUE, each flag once,
// --profile, --link and --json), number parsing with messages that name the flag, the budget and layer-file
// conflicts, and the link a plan runs on. Each workload's parser handles only its own flags.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "ghtier/platform/link_model.hpp"

namespace ghtier::tools {

/// The flags seen by parse_plan_flags, without their values.
using SeenFlags = std::set<std::string, std::less<>>;

/// Where parse_plan_flags stores the options every workload has.
struct PlanCommonTargets {
  std::string& profile;
  std::optional<std::string>& link_file;
  bool& json;
};

/// The common targets of a workload's options (any struct with profile, link_file and json).
template <class Options>
[[nodiscard]] PlanCommonTargets common_targets(Options& options) {
  return {options.profile, options.link_file, options.json};
}

/// A workload's own flag with its (non-empty) value; returns false for a flag it does not know.
using PlanFlagHandler = std::function<bool(std::string_view flag, std::string_view value)>;

/// Parses the arguments after `plan WORKLOAD`: --json (no value), --profile (checked against the built-in
/// profiles) and --link into `common`, every other flag through `workload_flag`. Returns the flags seen.
/// Throws UsageError naming the argument: not a flag, given twice, a value missing or empty, an unknown
/// flag (naming `ghtier plan WORKLOAD`), or what `workload_flag` throws.
SeenFlags parse_plan_flags(std::span<const std::string_view> args, std::string_view workload, PlanCommonTargets common,
                           const PlanFlagHandler& workload_flag);

/// `text` as a finite number >= 0 (> 0 unless `allow_zero`). Throws UsageError naming `flag`.
[[nodiscard]] double parse_plan_number(std::string_view text, std::string_view flag, bool allow_zero);

/// `text` as a positive whole number up to 100000; the refusal reads "FLAG expects `what`, got 'TEXT'"
/// (a number that is not positive is refused as by parse_plan_number). Throws UsageError.
[[nodiscard]] std::size_t parse_plan_whole(std::string_view text, std::string_view flag, std::string_view what);

/// Throws UsageError("A and B both set the device budget; give one of them") when both flags were seen.
void refuse_two_budgets(const SeenFlags& seen, std::string_view a, std::string_view b);

/// Throws UsageError("--layer-file gives every layer's `what`; it cannot be combined with `shape_flags`")
/// when a layer file and a shape flag were both given.
void refuse_layer_file_with_shape(bool layer_file_given, bool shape_given, std::string_view what,
                                  std::string_view shape_flags);

/// The link a plan runs on: the saved model in `link_file` when given, else the profile's. Throws
/// ghtier::Error(io_error / invalid_argument) for a link file that cannot be read, or for an unknown profile.
[[nodiscard]] LinkModel plan_link(const std::optional<std::string>& link_file, std::string_view profile);

}  // namespace ghtier::tools
