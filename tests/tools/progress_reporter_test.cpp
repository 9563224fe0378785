// ProgressReporter against the real Google Benchmark: cases that report like the ghtier suites do (manual
// time, GBps/ceiling/ratio counters, a label) and a case that fails become BenchResults, one progress line each.
#include <gtest/gtest.h>

#include <benchmark/benchmark.h>

#include <random>
#include <sstream>

#include "progress_reporter.hpp"
#include "test_support.hpp"

namespace ghtier::tools {
namespace {

TEST(ProgressReporter, CollectsResultsAndPrintsOneLinePerCase) {
  auto rng = test::fresh_rng();
  const double gbps = std::uniform_real_distribution<double>(1.0, 100.0)(rng);
  const double ceiling = std::uniform_real_distribution<double>(1.0, 100.0)(rng);
  const double seconds = std::uniform_real_distribution<double>(1e-4, 1e-2)(rng);

  benchmark::RegisterBenchmark("reporter_test/ok/4KiB",
                               [=](benchmark::State& state) {
                                 for (auto _ : state) state.SetIterationTime(seconds);
                                 state.counters["GBps"] = gbps;
                                 state.counters["ceiling_GBps"] = ceiling;
                                 state.counters["ratio"] = gbps / ceiling;
                                 state.SetLabel("vs made-up ceiling");
                               })
      ->Iterations(3)
      ->UseManualTime();
  benchmark::RegisterBenchmark("reporter_test/fails", [](benchmark::State& state) {
    state.SkipWithError("broken on purpose");
    for (auto _ : state) {}
  })->Iterations(3);

  std::ostringstream progress;
  ProgressReporter reporter(progress);
  const std::size_t matched = benchmark::RunSpecifiedBenchmarks(&reporter, "reporter_test/");
  EXPECT_EQ(matched, 2u);
  ASSERT_EQ(reporter.results().size(), 2u);

  const BenchResult& ok = reporter.results()[0];
  EXPECT_EQ(ok.name, "reporter_test/ok/4KiB") << "no iterations:3/manual_time suffix";
  EXPECT_EQ(ok.outcome, BenchResult::Outcome::ok);
  EXPECT_EQ(ok.label, "vs made-up ceiling");
  EXPECT_DOUBLE_EQ(ok.counter("GBps"), gbps);
  EXPECT_DOUBLE_EQ(ok.counter("ceiling_GBps"), ceiling);
  EXPECT_DOUBLE_EQ(ok.counter("ratio"), gbps / ceiling);
  EXPECT_EQ(ok.iterations, 3);
  EXPECT_NEAR(ok.seconds_per_iteration, seconds, seconds * 1e-6);

  const BenchResult& failed = reporter.results()[1];
  EXPECT_EQ(failed.name, "reporter_test/fails");
  EXPECT_EQ(failed.outcome, BenchResult::Outcome::failed);
  EXPECT_EQ(failed.message, "broken on purpose");

  const std::string lines = progress.str();
  EXPECT_NE(lines.find("[   1] reporter_test/ok/4KiB: "), std::string::npos) << lines;
  EXPECT_NE(lines.find("[   2] reporter_test/fails: FAILED: broken on purpose"), std::string::npos) << lines;
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 2);
}

}  // namespace
}  // namespace ghtier::tools
