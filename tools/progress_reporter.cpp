// Progress lines and result collection for `ghtier bench`.
#include "progress_reporter.hpp"

#include <fmt/format.h>

#include "summary_table.hpp"

namespace ghtier::tools {

namespace {

// Google Benchmark 1.8 replaced error_occurred/error_message by skipped (NotSkipped = 0,
// SkippedWithMessage = 1, SkippedWithError = 2) and skip_message; both machines must build, so look the
// members up on a dependent type and use whichever exists.
template <typename RunType>
void read_outcome(const RunType& run, BenchResult& result) {
  if constexpr (requires { run.skipped; }) {
    const auto kind = static_cast<int>(run.skipped);
    if (kind == 0) return;
    result.outcome = kind == 1 ? BenchResult::Outcome::skipped : BenchResult::Outcome::failed;
    result.message = run.skip_message;
  } else {
    if (!run.error_occurred) return;
    result.outcome = BenchResult::Outcome::failed;
    result.message = run.error_message;
  }
}

}  // namespace

BenchResult to_bench_result(const benchmark::BenchmarkReporter::Run& run) {
  BenchResult result;
  // function_name/args without the iterations:N and manual_time parts that the full name carries.
  result.name = run.run_name.function_name;
  if (!run.run_name.args.empty()) result.name += "/" + run.run_name.args;
  result.label = run.report_label;
  for (const auto& [key, counter] : run.counters) result.counters[key] = counter.value;
  result.iterations = static_cast<std::int64_t>(run.iterations);
  result.seconds_per_iteration =
      run.iterations > 0 ? run.real_accumulated_time / static_cast<double>(run.iterations) : run.real_accumulated_time;
  read_outcome(run, result);
  return result;
}

ProgressReporter::ProgressReporter(std::ostream& out) : out_(out), last_report_(std::chrono::steady_clock::now()) {}

bool ProgressReporter::ReportContext(const Context& /*context*/) {
  last_report_ = std::chrono::steady_clock::now();
  return true;
}

void ProgressReporter::ReportRuns(const std::vector<Run>& runs) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - last_report_).count();
  last_report_ = now;
  for (const Run& run : runs) {
    if (run.run_type != Run::RT_Iteration || run.report_big_o || run.report_rms) continue;
    BenchResult result = to_bench_result(run);
    std::string line = fmt::format("[{:>4}] {}: {}", results_.size() + 1, result.name, format_result_figure(result));
    if (result.outcome != BenchResult::Outcome::ok) {
      line += fmt::format(": {}", result.message);
    } else if (result.counter("ratio") > 0) {
      line += fmt::format(" (ratio {:.2f})", result.counter("ratio"));
    }
    line += fmt::format(" in {}", format_duration(elapsed));
    out_ << line << std::endl;  // flushed: progress must show while the next case runs
    results_.push_back(std::move(result));
  }
}

}  // namespace ghtier::tools
