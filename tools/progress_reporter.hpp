// ProgressReporter: Google Benchmark's display reporter for `ghtier bench`. Prints one line per finished
// case (so a long run shows it is alive) and keeps every result as a BenchResult for the summary table.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <ostream>
#include <vector>

#include "bench_result.hpp"

namespace ghtier::tools {

/// One of Google Benchmark's runs as a BenchResult (works with Google Benchmark 1.7 and 1.8+, whose
/// ways of reporting a skipped or failed case differ).
[[nodiscard]] BenchResult to_bench_result(const benchmark::BenchmarkReporter::Run& run);

class ProgressReporter final : public benchmark::BenchmarkReporter {
 public:
  /// Progress lines go to `out`, which must outlive the reporter.
  explicit ProgressReporter(std::ostream& out);

  bool ReportContext(const Context& context) override;
  /// Prints "[  N] case: figure (ratio r) in t" per case; aggregates and complexity rows are ignored.
  void ReportRuns(const std::vector<Run>& runs) override;

  /// Every case reported so far, in the order it finished.
  [[nodiscard]] const std::vector<BenchResult>& results() const noexcept { return results_; }

 private:
  std::ostream& out_;
  std::vector<BenchResult> results_;
  std::chrono::steady_clock::time_point last_report_;
};

}  // namespace ghtier::tools
