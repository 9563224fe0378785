// The ceiling decisions of `ghtier bench` without a GPU: ratio and suspect flag, which figure a direct access
// or a copy is held against (none for CPU-only work), the re-measuring schedule, and the bandwidth matrix's
// list of figures per case (checked against matrix_ceiling itself: collapsing a listed figure moves the
// ceiling, collapsing any other never does).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "link_ceilings.hpp"
#include "matrix_cases.hpp"
#include "test_support.hpp"

namespace ghtier::bench {
namespace {

LinkModel random_link(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> d(1.0, 4000.0);
  LinkModel l;
  for (LinkFigure f : all_link_figures) figure_of(l, f) = d(rng);
  l.latency_us = std::uniform_real_distribution<double>(0.5, 20.0)(rng);
  return l;
}

TEST(CeilingVerdict, RatioAndSuspectAgainstAnIndependentComputation) {
  auto rng = test::fresh_rng();
  std::uniform_real_distribution<double> gbps(0.1, 5000.0);
  for (int i = 0; i < 2000; ++i) {
    const double measured = gbps(rng);
    const double ceiling = gbps(rng);
    const CeilingVerdict v = judge_against_ceiling(measured, ceiling);
    EXPECT_DOUBLE_EQ(v.ratio, measured / ceiling);
    EXPECT_EQ(v.suspect, measured / ceiling > 1.05) << measured << " vs " << ceiling;
  }
}

TEST(CeilingVerdict, TheBoundary) {
  EXPECT_FALSE(judge_against_ceiling(100.0, 100.0).suspect);
  EXPECT_FALSE(judge_against_ceiling(105.0, 100.0).suspect) << "1.05x itself is allowed";
  EXPECT_TRUE(judge_against_ceiling(105.1, 100.0).suspect);
  EXPECT_TRUE(judge_against_ceiling(200.0, 100.0).suspect);
  EXPECT_FALSE(judge_against_ceiling(10.0, 100.0).suspect);
}

TEST(CeilingVerdict, NoCeilingNoRatioNoFlag) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (double ceiling : {0.0, -1.0, nan, inf}) {
    const CeilingVerdict v = judge_against_ceiling(50.0, ceiling);
    EXPECT_EQ(v.ratio, 0.0) << ceiling;
    EXPECT_FALSE(v.suspect) << ceiling;
  }
  for (double measured : {0.0, nan, inf}) {
    EXPECT_FALSE(judge_against_ceiling(measured, 50.0).suspect) << measured;
  }
}

TEST(CeilingChoice, DirectAccessAndCopies) {
  EXPECT_EQ(direct_access_ceiling(CaseMemory::pinned_host, false), LinkFigure::sm_read);
  EXPECT_EQ(direct_access_ceiling(CaseMemory::pinned_host, true), LinkFigure::sm_write);
  EXPECT_EQ(direct_access_ceiling(CaseMemory::device, false), LinkFigure::hbm);
  EXPECT_FALSE(direct_access_ceiling(CaseMemory::cpu_only, false).has_value()) << "CPU work has no GPU link ceiling";
  EXPECT_FALSE(direct_access_ceiling(CaseMemory::cpu_only, true).has_value());
  EXPECT_EQ(copy_ceiling(true), LinkFigure::h2d);
  EXPECT_EQ(copy_ceiling(false), LinkFigure::d2h);
}

TEST(CeilingChoice, DescriptionsNameTheFigureAndTheRun) {
  for (LinkFigure f : all_link_figures) {
    const std::string d = describe_ceiling(f);
    EXPECT_NE(d.find(std::string(to_string(f))), std::string::npos) << d;
    EXPECT_NE(d.find("measured in this run"), std::string::npos) << d;
  }
}

TEST(CeilingSchedule, MeasuresFirstThenEveryKUses) {
  auto rng = test::fresh_rng();
  const int k = std::uniform_int_distribution<int>(1, 9)(rng);
  CeilingSchedule schedule(k);
  for (LinkFigure f : all_link_figures) EXPECT_TRUE(schedule.due(f)) << "nothing is measured at the start";
  // Replays a random sequence of uses of two figures and counts the measurements independently.
  int measurements = 0, uses_of_read = 0;
  double value = 0;
  for (int i = 0; i < 200; ++i) {
    const bool read = std::bernoulli_distribution(0.7)(rng);
    const LinkFigure f = read ? LinkFigure::sm_read : LinkFigure::h2d;
    if (!read) {
      if (schedule.due(f)) schedule.measured(f, 1.0);
      EXPECT_EQ(schedule.use(f), 1.0);
      continue;
    }
    const bool expect_due = uses_of_read % k == 0;
    EXPECT_EQ(schedule.due(f), expect_due) << "use " << uses_of_read << ", every " << k;
    if (schedule.due(f)) {
      value = 10.0 + ++measurements;
      schedule.measured(f, value);
    }
    EXPECT_EQ(schedule.use(f), value) << "the latest measurement is what a case uses";
    ++uses_of_read;
  }
  EXPECT_EQ(measurements, (uses_of_read + k - 1) / k);
  schedule.reset();
  EXPECT_TRUE(schedule.due(LinkFigure::sm_read));
  EXPECT_EQ(schedule.use(LinkFigure::sm_write), 0.0) << "never measured";
}

TEST(CeilingSchedule, ZeroOrNegativeRefreshMeansEveryCase) {
  CeilingSchedule schedule(0);
  schedule.measured(LinkFigure::hbm, 3000);
  EXPECT_FALSE(schedule.due(LinkFigure::hbm));
  (void)schedule.use(LinkFigure::hbm);
  EXPECT_TRUE(schedule.due(LinkFigure::hbm));
}

// Every matrix case, on both platform classes, full and quick.
std::vector<MatrixCase> every_matrix_case() {
  std::vector<MatrixCase> cases;
  for (const char* profile : {"pcie-gen5", "pcie-gen5-hmm", "gh200-c2c"}) {
    for (bool quick : {true, false}) {
      const auto some = matrix_cases(assume_platform(profile), quick);
      cases.insert(cases.end(), some.begin(), some.end());
    }
  }
  return cases;
}

TEST(MatrixCeilingFigures, ExactlyTheFiguresTheCeilingReads) {
  auto rng = test::fresh_rng();
  for (const MatrixCase& c : every_matrix_case()) {
    const std::vector<LinkFigure> listed = matrix_ceiling_figures(c);
    const LinkModel link = random_link(rng);
    const double base = matrix_ceiling(link, c).value;
    for (LinkFigure f : all_link_figures) {
      LinkModel changed = link;
      // Below every other figure (random ones are >= 0.5), a figure becomes the bottleneck of any ceiling
      // that reads it (the slower direction rules). A relative cut (x 1e-3) was not enough: a 4000 GB/s
      // figure cut to 4 stayed above a 2.2 GB/s one it is paired with (a failing seed, 4305277989145389445).
      figure_of(changed, f) = 1e-6;
      const double moved = matrix_ceiling(changed, c).value;
      const bool is_listed = std::find(listed.begin(), listed.end(), f) != listed.end();
      if (is_listed) {
        EXPECT_NE(moved, base) << case_name(c) << ": " << to_string(f) << " is listed but does not matter";
      } else {
        EXPECT_EQ(moved, base) << case_name(c) << ": " << to_string(f) << " matters but is not listed";
      }
    }
    if (listed.empty()) {
      EXPECT_EQ(base, 0.0) << case_name(c) << ": no figure, no ceiling (host to host)";
    }
  }
}

}  // namespace
}  // namespace ghtier::bench
