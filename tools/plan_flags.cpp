// The flag loop and checks every `ghtier plan WORKLOAD` shares (see plan_flags.hpp).
#include "plan_flags.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "cli_options.hpp"
#include "ghtier/error.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier::tools {

namespace {

void check_profile(std::string_view name) {
  try {
    (void)platform_profile(name);
  } catch (const Error& e) {
    throw UsageError(fmt::format("--profile: {}", e.what()));
  }
}

}  // namespace

SeenFlags parse_plan_flags(std::span<const std::string_view> args, std::string_view workload, PlanCommonTargets common,
                           const PlanFlagHandler& workload_flag) {
  SeenFlags seen;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view flag = args[i];
    std::optional<std::string_view> value;
    if (const auto eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    if (!flag.starts_with("--")) {
      throw UsageError(fmt::format("unexpected argument '{}' for 'ghtier plan {}'", flag, workload));
    }
    if (!seen.insert(std::string(flag)).second) throw UsageError(fmt::format("{} given twice", flag));
    if (flag == "--json") {
      if (value) throw UsageError(fmt::format("--json takes no value, got '{}'", *value));
      common.json = true;
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size() || args[i + 1].starts_with("--"))
        throw UsageError(fmt::format("{} needs a value", flag));
      value = args[++i];
    }
    if (value->empty()) throw UsageError(fmt::format("{} needs a value, got an empty one", flag));
    if (flag == "--profile") {
      check_profile(*value);
      common.profile = std::string(*value);
    } else if (flag == "--link") {
      common.link_file = std::string(*value);
    } else if (!workload_flag(flag, *value)) {
      throw UsageError(fmt::format("unknown flag '{}' for 'ghtier plan {}' (see ghtier help plan)", flag, workload));
    }
  }
  return seen;
}

double parse_plan_number(std::string_view text, std::string_view flag, bool allow_zero) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value) || value < 0 || (!allow_zero && value == 0)) {
    throw UsageError(
        fmt::format("{} expects a {} number, got '{}'", flag, allow_zero ? "non-negative" : "positive", text));
  }
  return value;
}

std::size_t parse_plan_whole(std::string_view text, std::string_view flag, std::string_view what) {
  const double value = parse_plan_number(text, flag, false);
  if (value != std::floor(value) || value > 100000) {
    throw UsageError(fmt::format("{} expects {}, got '{}'", flag, what, text));
  }
  return static_cast<std::size_t>(value);
}

void refuse_two_budgets(const SeenFlags& seen, std::string_view a, std::string_view b) {
  if (seen.contains(a) && seen.contains(b)) {
    throw UsageError(fmt::format("{} and {} both set the device budget; give one of them", a, b));
  }
}

void refuse_layer_file_with_shape(bool layer_file_given, bool shape_given, std::string_view what,
                                  std::string_view shape_flags) {
  if (layer_file_given && shape_given) {
    throw UsageError(
        fmt::format("--layer-file gives every layer's {}; it cannot be combined with {}", what, shape_flags));
  }
}

LinkModel plan_link(const std::optional<std::string>& link_file, std::string_view profile) {
  return link_file ? load_link_model(*link_file) : assume_platform(profile).link;
}

}  // namespace ghtier::tools
