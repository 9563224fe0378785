// StressOptions: parsing with errors that name the setting.
#include "stress_options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace ghtier::stress {

namespace {

double parse_number(std::string_view text, std::string_view name) {
  // std::from_chars for double needs g++ 11+: fine; also refuses trailing junk.
  double value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    throw std::invalid_argument(fmt::format("{}: '{}' is not a number", name, text));
  }
  return value;
}

void set(StressOptions& o, std::string_view key, std::string_view value, std::string_view name) {
  if (key == "seconds") {
    o.seconds = parse_number(value, name);
    if (!(o.seconds > 0 && o.seconds <= 86400)) {
      throw std::invalid_argument(fmt::format("{}: {} seconds is not in (0, 86400]", name, value));
    }
  } else if (key == "threads") {
    const double n = parse_number(value, name);
    if (n < 1 || n > 256 || n != static_cast<unsigned>(n)) {
      throw std::invalid_argument(fmt::format("{}: {} threads is not a whole number in 1..256", name, value));
    }
    o.threads = static_cast<unsigned>(n);
  } else if (key == "budget-kib") {
    const double k = parse_number(value, name);
    if (k < 1 || k > 64.0 * 1024 * 1024 || k != static_cast<double>(static_cast<std::size_t>(k))) {
      throw std::invalid_argument(fmt::format("{}: {} KiB is not a whole number in 1..64 GiB", name, value));
    }
    o.tier_budget_bytes = static_cast<std::size_t>(k) * 1024;
  } else if (key == "hang-seconds") {
    o.hang_seconds = parse_number(value, name);
    if (!(o.hang_seconds > 0)) throw std::invalid_argument(fmt::format("{}: must be above 0", name));
  } else if (key == "json") {
    o.json_path = std::string(value);
  } else if (key == "require-refusals") {
    if (value != "0" && value != "1") throw std::invalid_argument(fmt::format("{}: must be 0 or 1", name));
    o.require_refusals = value == "1";
  }
}

}  // namespace

StressOptions parse_stress_options(const std::function<const char*(const char*)>& getenv,
                                   const std::vector<std::string>& args) {
  StressOptions o;
  const std::pair<const char*, const char*> env[] = {{"GHTIER_STRESS_SECONDS", "seconds"},
                                                     {"GHTIER_STRESS_THREADS", "threads"},
                                                     {"GHTIER_STRESS_BUDGET_KIB", "budget-kib"},
                                                     {"GHTIER_STRESS_HANG_SECONDS", "hang-seconds"},
                                                     {"GHTIER_STRESS_JSON", "json"},
                                                     {"GHTIER_STRESS_REQUIRE_REFUSALS", "require-refusals"}};
  for (const auto& [variable, key] : env) {
    if (const char* value = getenv(variable); value != nullptr && *value != '\0') set(o, key, value, variable);
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--no-require-refusals") {
      o.require_refusals = false;
      continue;
    }
    const bool known =
        a == "--seconds" || a == "--threads" || a == "--budget-kib" || a == "--hang-seconds" || a == "--json";
    if (!known) throw std::invalid_argument(fmt::format("unknown option '{}'", a));
    if (i + 1 >= args.size()) throw std::invalid_argument(fmt::format("{} needs a value", a));
    set(o, std::string_view(a).substr(2), args[i + 1], a);
    ++i;
  }
  return o;
}

std::size_t tight_budget_bytes(const StressOptions& options) noexcept {
  if (options.tier_budget_bytes != 0) return options.tier_budget_bytes;
  return std::max<std::size_t>(std::size_t{options.threads} * (256u << 10), std::size_t{4} << 20);
}

}  // namespace ghtier::stress
