// The bench summary table from made-up results: every figure, ceiling and ratio appears as printf would
// print it, columns line up, failures show their message, and the count line adds up.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "summary_table.hpp"
#include "test_support.hpp"

namespace ghtier::tools {
namespace {

std::string printf_2f(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  return buffer;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

BenchResult bandwidth_result(std::string name, double gbps, double ceiling) {
  BenchResult r;
  r.name = std::move(name);
  r.label = "vs profile test h2d_gbps";
  r.counters = {{"GBps", gbps}, {"ceiling_GBps", ceiling}, {"ratio", ceiling > 0 ? gbps / ceiling : 0}};
  r.iterations = 5;
  return r;
}

TEST(SummaryTable, RowsCarryFiguresCeilingsAndRatios) {
  auto rng = test::fresh_rng();
  std::uniform_real_distribution<double> gbps(0.5, 4000.0);
  std::uniform_real_distribution<double> us(0.5, 50.0);
  std::vector<BenchResult> results;
  for (int i = 0; i < 12; ++i)
    results.push_back(bandwidth_result("suite/bw/" + std::to_string(i), gbps(rng), gbps(rng)));
  BenchResult latency;
  latency.name = "suite/latency/4KiB";
  latency.label = "vs profile test latency_us";
  const double measured_us = us(rng);
  const double baseline_us = us(rng);
  latency.counters = {{"us", measured_us}, {"baseline_us", baseline_us}, {"ratio", measured_us / baseline_us}};
  results.push_back(latency);

  const std::string table = format_summary_table(results);
  const std::vector<std::string> lines = lines_of(table);
  ASSERT_EQ(lines.size(), results.size() + 4);  // header, rule, rows, ratio note, count line
  for (std::size_t i = 0; i + 1 < results.size(); ++i) {
    const BenchResult& r = results[i];
    const std::string& row = lines[i + 2];
    EXPECT_EQ(row.rfind(r.name, 0), 0u) << row;
    EXPECT_NE(row.find(printf_2f(r.counters.at("GBps")) + " GB/s"), std::string::npos) << row;
    EXPECT_NE(row.find(printf_2f(r.counters.at("ceiling_GBps")) + " GB/s"), std::string::npos) << row;
    EXPECT_NE(row.find(printf_2f(r.counters.at("GBps") / r.counters.at("ceiling_GBps"))), std::string::npos) << row;
    EXPECT_NE(row.find("profile test h2d_gbps"), std::string::npos) << row;
    EXPECT_EQ(row.find("vs profile"), std::string::npos) << "the 'vs ' of the label is dropped: " << row;
  }
  const std::string& latency_row = lines[results.size() + 1];
  EXPECT_NE(latency_row.find(printf_2f(measured_us) + " us"), std::string::npos) << latency_row;
  EXPECT_NE(latency_row.find(printf_2f(baseline_us) + " us"), std::string::npos) << latency_row;
  EXPECT_NE(latency_row.find(printf_2f(measured_us / baseline_us)), std::string::npos) << latency_row;
  EXPECT_EQ(lines.back(),
            std::to_string(results.size()) + " cases: " + std::to_string(results.size()) + " ok, 0 failed, 0 skipped");
}

TEST(SummaryTable, ColumnsLineUp) {
  std::vector<BenchResult> results{bandwidth_result("a", 1.5, 55.0), bandwidth_result("a/much/longer/name", 3016.25, 0),
                                   bandwidth_result("b", 55.0, 55.0)};
  const std::vector<std::string> lines = lines_of(format_summary_table(results));
  // The result column is right-aligned under its header: every figure ends where "result" ends.
  const std::size_t result_end = lines[0].find("result") + std::string("result").size();
  for (std::size_t i = 2; i < 2 + results.size(); ++i) {
    const std::size_t end = lines[i].find(" GB/s") + std::string(" GB/s").size();
    EXPECT_EQ(end, result_end) << lines[i];
  }
}

TEST(SummaryTable, NoCeilingShowsDashes) {
  std::vector<BenchResult> results{bandwidth_result("suite/host_to_host", 12.0, 0)};
  results[0].label = "vs none: a host-to-host copy";
  const std::vector<std::string> lines = lines_of(format_summary_table(results));
  const std::string& row = lines[2];
  const std::size_t figure = row.find("12.00 GB/s");
  ASSERT_NE(figure, std::string::npos) << row;
  std::istringstream rest(row.substr(figure + std::string("12.00 GB/s").size()));
  std::string ceiling_cell, ratio_cell, compared_with;
  rest >> ceiling_cell >> ratio_cell;
  std::getline(rest >> std::ws, compared_with);
  EXPECT_EQ(ceiling_cell, "-") << row;
  EXPECT_EQ(ratio_cell, "-") << row;
  EXPECT_EQ(compared_with, "none: a host-to-host copy") << row;
}

TEST(SummaryTable, FailedAndSkippedCasesShowTheirMessageAndCount) {
  std::vector<BenchResult> results{bandwidth_result("ok", 10, 20)};
  BenchResult failed;
  failed.name = "broken";
  failed.outcome = BenchResult::Outcome::failed;
  failed.message = "cudaMalloc failed:\nout of memory";
  BenchResult skipped;
  skipped.name = "not_here";
  skipped.outcome = BenchResult::Outcome::skipped;
  skipped.message = "needs ATS";
  results.push_back(failed);
  results.push_back(skipped);
  const std::string table = format_summary_table(results);
  const std::vector<std::string> lines = lines_of(table);
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_NE(lines[3].find("FAILED"), std::string::npos);
  EXPECT_NE(lines[3].find("cudaMalloc failed: out of memory"), std::string::npos) << "newlines flattened";
  EXPECT_NE(lines[4].find("skipped"), std::string::npos);
  EXPECT_NE(lines[4].find("needs ATS"), std::string::npos);
  EXPECT_EQ(lines.back(), "3 cases: 1 ok, 1 failed, 1 skipped");
}

TEST(SummaryTable, CasesWithoutKnownCountersShowTimePerIteration) {
  BenchResult r;
  r.name = "other/suite";
  r.seconds_per_iteration = 0.00125;
  EXPECT_EQ(format_result_figure(r), "1.25 ms/iter");
  const std::vector<std::string> lines = lines_of(format_summary_table(std::vector<BenchResult>{r}));
  EXPECT_NE(lines[2].find("1.25 ms/iter"), std::string::npos);
  EXPECT_EQ(lines.back(), "1 case: 1 ok, 0 failed, 0 skipped");
}

TEST(SummaryTable, SuspectCasesAreFlaggedAndCounted) {
  auto rng = test::fresh_rng();
  std::uniform_real_distribution<double> gbps(1.0, 100.0);
  std::vector<BenchResult> results;
  std::size_t expected_suspects = 0;
  for (int i = 0; i < 20; ++i) {
    BenchResult r = bandwidth_result("suite/case/" + std::to_string(i), gbps(rng), gbps(rng));
    const bool suspect = std::bernoulli_distribution(0.3)(rng);
    r.counters["suspect"] = suspect ? 1 : 0;
    expected_suspects += suspect ? 1 : 0;
    results.push_back(r);
  }
  BenchResult failed_with_flag = bandwidth_result("suite/failed", 1, 1);
  failed_with_flag.counters["suspect"] = 1;  // a failed case is never counted as suspect
  failed_with_flag.outcome = BenchResult::Outcome::failed;
  results.push_back(failed_with_flag);
  const std::vector<std::string> lines = lines_of(format_summary_table(results));
  EXPECT_NE(lines[0].find("flag"), std::string::npos) << lines[0];
  const std::size_t flag_column = lines[0].find("flag");
  for (std::size_t i = 0; i < 20; ++i) {
    const std::string& row = lines[i + 2];
    const bool flagged = row.compare(flag_column, 7, "suspect") == 0;
    EXPECT_EQ(flagged, results[i].counters.at("suspect") > 0) << row;
  }
  EXPECT_EQ(lines[22].find("suspect"), std::string::npos) << lines[22];
  const std::string note = expected_suspects == 1
                               ? "suspect: 1 case above 1.05x"
                               : "suspect: " + std::to_string(expected_suspects) + " cases above 1.05x";
  const bool has_note =
      std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(note, 0) == 0; });
  EXPECT_EQ(has_note, expected_suspects > 0) << note;
}

TEST(SummaryTable, NoSuspectNoteWithoutSuspects) {
  std::vector<BenchResult> results{bandwidth_result("a", 50, 55)};
  results[0].counters["suspect"] = 0;
  const std::string table = format_summary_table(results);
  EXPECT_EQ(table.find("suspect"), std::string::npos) << table;
}

TEST(CeilingSummary, MedianRangeAndSpreadPerFigure) {
  auto rng = test::fresh_rng();
  std::uniform_real_distribution<double> gbps(40.0, 60.0);
  std::vector<CeilingMeasurements> ceilings{{"sm_read_gbps", {}}, {"latency_us", {}}};
  for (int i = 0; i < 5; ++i) ceilings[0].values.push_back(gbps(rng));
  ceilings[1].values = {2.0, 1.0, 4.0, 3.0};
  const std::vector<std::string> lines = lines_of(format_ceiling_summary(ceilings));
  ASSERT_EQ(lines.size(), 3u);
  std::vector<double> sorted = ceilings[0].values;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(lines[1].find("sm_read_gbps"), std::string::npos);
  EXPECT_NE(lines[1].find("5x"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("median " + printf_2f(sorted[2]) + " GB/s"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find(printf_2f(sorted.front()) + " .. " + printf_2f(sorted.back())), std::string::npos);
  EXPECT_NE(lines[2].find("median 2.50 us"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("spread 300.0%"), std::string::npos) << lines[2];
  EXPECT_EQ(format_ceiling_summary({}), "");
  EXPECT_EQ(format_ceiling_summary(std::vector<CeilingMeasurements>{{"h2d_gbps", {}}}), "");
}

TEST(SummaryTable, DurationsPickAReadableUnit) {
  EXPECT_EQ(format_duration(2.5), "2.50 s");
  EXPECT_EQ(format_duration(0.0125), "12.50 ms");
  EXPECT_EQ(format_duration(3.25e-6), "3.25 us");
  EXPECT_EQ(format_duration(4e-9), "4.00 ns");
}

}  // namespace
}  // namespace ghtier::tools
