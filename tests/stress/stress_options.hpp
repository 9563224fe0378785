// StressOptions: how long and how wide the GPU stress test runs, from the environment and the command line
// (the command line wins), checked so that a typo is an error rather than a silently different test.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace ghtier::stress {

struct StressOptions {
  unsigned threads = 16;
  double seconds = 60;
  /// Each tier's budget on top of the shared tables (0: max(threads x 256 KiB, 4 MiB), tight enough that
  /// refusals happen; see operation_mix.hpp for the sizes drawn).
  std::size_t tier_budget_bytes = 0;
  /// An operation running longer than this is a hang: the test names it and fails.
  double hang_seconds = 60;
  /// Non-empty: the report is also written there as JSON.
  std::string json_path;
  /// Require budget refusals in every budgeted tier (off for runs too short to fill the budgets).
  bool require_refusals = true;
};

/// The environment: GHTIER_STRESS_SECONDS, GHTIER_STRESS_THREADS, GHTIER_STRESS_BUDGET_KIB,
/// GHTIER_STRESS_HANG_SECONDS, GHTIER_STRESS_JSON, GHTIER_STRESS_REQUIRE_REFUSALS (0/1); then `args`:
/// --seconds S, --threads N, --budget-kib K, --hang-seconds S, --json FILE, --no-require-refusals.
/// `getenv` is std::getenv in the test (a map in the option tests). Throws std::invalid_argument naming the
/// variable or option: not a number, threads outside 1..256, seconds not in (0, 86400], an unknown option.
[[nodiscard]] StressOptions parse_stress_options(const std::function<const char*(const char*)>& getenv,
                                                 const std::vector<std::string>& args);

/// The budget each tier gets on top of its shared table.
[[nodiscard]] std::size_t tight_budget_bytes(const StressOptions& options) noexcept;

}  // namespace ghtier::stress
