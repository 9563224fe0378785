// The table `ghtier bench` prints at the end: each case's figure beside its ceiling (or baseline) and the
// ratio, so a reader sees at a glance how close every path comes to what the link allows.
#pragma once

#include <span>
#include <string>

#include "bench_result.hpp"

namespace ghtier::tools {

/// One row per result, in the given order: case, result (GB/s, us, or time per iteration for cases that
/// report neither), ceiling or baseline, ratio, flag ("suspect" for a case above 1.05x of its ceiling), and
/// what the ceiling is (the case's label without "vs "). Failed and skipped cases show their message. Ends
/// with a line saying how to read the ratio, a line counting the suspect cases (only when there are some),
/// and a line counting ok / failed / skipped cases.
[[nodiscard]] std::string format_summary_table(std::span<const BenchResult> results);

/// The ceilings measured during the run, one line each: how often, and the median, lowest and highest
/// measurement, with the spread (highest over lowest) that says how steady the link was. "" when none.
[[nodiscard]] std::string format_ceiling_summary(std::span<const CeilingMeasurements> ceilings);

/// "12.3 GB/s", "4.56 us", "1.23 ms/iter", "FAILED" or "skipped": the result column of one row.
[[nodiscard]] std::string format_result_figure(const BenchResult& result);

/// "0.50 ns", "12.3 us", "4.56 ms", "1.20 s": a duration with a unit that keeps 3 digits in sight.
[[nodiscard]] std::string format_duration(double seconds);

}  // namespace ghtier::tools
