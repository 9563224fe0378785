// BenchResult: one finished benchmark case as plain values, independent of Google Benchmark's types, so
// the summary table can be built (and tested) from results that never ran.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ghtier::tools {

struct BenchResult {
  enum class Outcome { ok, skipped, failed };

  std::string name;   ///< case name without Google Benchmark's suffixes (iterations:N, manual_time)
  std::string label;  ///< what the case set with SetLabel, e.g. "vs profile x86-h100-pcie h2d_gbps"
  std::map<std::string, double> counters;  ///< GBps, ceiling_GBps, us, baseline_us, ratio, ...
  double seconds_per_iteration = 0;        ///< Google Benchmark's real (or manual) time per iteration
  std::int64_t iterations = 0;
  Outcome outcome = Outcome::ok;
  std::string message;  ///< why the case failed or was skipped

  /// The counter's value, or `fallback` when the case did not report it.
  [[nodiscard]] double counter(const std::string& key, double fallback = 0) const {
    const auto it = counters.find(key);
    return it == counters.end() ? fallback : it->second;
  }
  [[nodiscard]] bool has_counter(const std::string& key) const { return counters.contains(key); }
  /// Whether the case reported a ratio above 1.05x of its ceiling (its counter "suspect" is 1).
  [[nodiscard]] bool suspect() const { return outcome == Outcome::ok && counter("suspect") > 0; }
};

/// The measurements of one link ceiling during a run (each the median of several probe runs).
struct CeilingMeasurements {
  std::string figure;          ///< the link model's key: "sm_read_gbps", "latency_us", ...
  std::vector<double> values;  ///< in the order taken: GB/s, or us for latency_us
};

}  // namespace ghtier::tools
