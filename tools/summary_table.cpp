// Formatting of the bench summary table. Widths follow the longest cell of each column.
#include "summary_table.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include <fmt/format.h>

namespace ghtier::tools {

namespace {

constexpr std::size_t column_count = 6;
using Row = std::array<std::string, column_count>;

std::string single_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

std::string ceiling_of(const BenchResult& r) {
  if (r.outcome != BenchResult::Outcome::ok) return "-";
  if (r.has_counter("GBps")) {
    const double ceiling = r.counter("ceiling_GBps");
    return ceiling > 0 ? fmt::format("{:.2f} GB/s", ceiling) : "-";
  }
  if (r.has_counter("us")) {
    const double baseline = r.counter("baseline_us");
    return baseline > 0 ? fmt::format("{:.2f} us", baseline) : "-";
  }
  return "-";
}

std::string ratio_of(const BenchResult& r) {
  if (r.outcome != BenchResult::Outcome::ok || !r.has_counter("ratio")) return "-";
  // A ratio of 0 means "no ceiling to compare with" (report_bandwidth writes 0 then).
  const double reference = r.has_counter("GBps") ? r.counter("ceiling_GBps") : r.counter("baseline_us", 1);
  if (reference <= 0 || r.counter("ratio") <= 0) return "-";
  return fmt::format("{:.2f}", r.counter("ratio"));
}

std::string compared_with(const BenchResult& r) {
  if (r.outcome != BenchResult::Outcome::ok) return single_line(r.message);
  std::string label = r.label;
  if (label.starts_with("vs ")) label.erase(0, 3);
  return single_line(label);
}

}  // namespace

std::string format_duration(double seconds) {
  const double magnitude = seconds < 0 ? -seconds : seconds;
  if (magnitude >= 1) return fmt::format("{:.2f} s", seconds);
  if (magnitude >= 1e-3) return fmt::format("{:.2f} ms", seconds * 1e3);
  if (magnitude >= 1e-6) return fmt::format("{:.2f} us", seconds * 1e6);
  return fmt::format("{:.2f} ns", seconds * 1e9);
}

std::string format_result_figure(const BenchResult& result) {
  switch (result.outcome) {
    case BenchResult::Outcome::failed: return "FAILED";
    case BenchResult::Outcome::skipped: return "skipped";
    case BenchResult::Outcome::ok: break;
  }
  if (result.has_counter("GBps")) return fmt::format("{:.2f} GB/s", result.counter("GBps"));
  if (result.has_counter("us")) return fmt::format("{:.2f} us", result.counter("us"));
  return format_duration(result.seconds_per_iteration) + "/iter";
}

std::string format_summary_table(std::span<const BenchResult> results) {
  std::vector<Row> rows;
  rows.push_back({"case", "result", "ceiling/baseline", "ratio", "flag", "compared with"});
  std::size_t ok = 0, failed = 0, skipped = 0, suspect = 0;
  for (const BenchResult& r : results) {
    rows.push_back(
        {r.name, format_result_figure(r), ceiling_of(r), ratio_of(r), r.suspect() ? "suspect" : "", compared_with(r)});
    if (r.suspect()) ++suspect;
    switch (r.outcome) {
      case BenchResult::Outcome::ok: ++ok; break;
      case BenchResult::Outcome::failed: ++failed; break;
      case BenchResult::Outcome::skipped: ++skipped; break;
    }
  }
  std::array<std::size_t, column_count> width{};
  for (const Row& row : rows) {
    for (std::size_t c = 0; c < column_count; ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  auto append_row = [&](const Row& row) {
    // Names and words left-aligned, figures right-aligned; the last column is not padded.
    std::string line = fmt::format("{:<{}}  {:>{}}  {:>{}}  {:>{}}  {:<{}}  {}", row[0], width[0], row[1], width[1],
                                   row[2], width[2], row[3], width[3], row[4], width[4], row[5]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  };
  append_row(rows.front());
  std::size_t rule = 0;
  for (std::size_t c = 0; c < column_count; ++c) rule += width[c] + (c + 1 < column_count ? 2 : 0);
  out += std::string(rule, '-');
  out += '\n';
  for (std::size_t i = 1; i < rows.size(); ++i) append_row(rows[i]);
  out +=
      "ratio: GB/s over the ceiling (higher is better, 1.00 = at the ceiling); us over the baseline "
      "(lower is better)\n";
  if (suspect > 0) {
    out += fmt::format(
        "suspect: {} case{} above 1.05x of {} ceiling: no path beats its link, so the ceiling or the case's byte "
        "count is wrong\n",
        suspect, suspect == 1 ? "" : "s", suspect == 1 ? "its" : "their");
  }
  out += fmt::format("{} case{}: {} ok, {} failed, {} skipped\n", results.size(), results.size() == 1 ? "" : "s", ok,
                     failed, skipped);
  return out;
}

std::string format_ceiling_summary(std::span<const CeilingMeasurements> ceilings) {
  std::string out;
  for (const CeilingMeasurements& c : ceilings) {
    if (c.values.empty()) continue;
    std::vector<double> sorted = c.values;
    std::sort(sorted.begin(), sorted.end());
    const std::size_t n = sorted.size();
    const double median = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    const char* unit = c.figure.ends_with("_us") ? "us" : "GB/s";
    out += fmt::format("  {:<20} {:>3}x  median {:.2f} {}, {:.2f} .. {:.2f} (spread {:.1f}%)\n", c.figure, n, median,
                       unit, sorted.front(), sorted.back(),
                       sorted.front() > 0 ? (sorted.back() / sorted.front() - 1) * 100 : 0.0);
  }
  if (out.empty()) return out;
  return "ceilings measured in this run (link probe, each the median of several runs):\n" + out;
}

}  // namespace ghtier::tools
