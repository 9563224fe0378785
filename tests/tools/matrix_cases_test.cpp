// The bandwidth matrix's decisions: which cases exist on each platform, their names and sizes, and which
// link figure each is compared with (checked against figures computed here from a random link model).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <regex>
#include <set>

#include "matrix_cases.hpp"
#include "test_support.hpp"

namespace ghtier::bench {
namespace {

constexpr std::size_t KiB = 1024;
constexpr std::size_t MiB = 1024 * KiB;
constexpr std::size_t GiB = 1024 * MiB;

LinkModel random_link(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> gbps(1.0, 4000.0);
  LinkModel l;
  l.h2d_gbps = gbps(rng);
  l.d2h_gbps = gbps(rng);
  l.bidirectional_gbps = gbps(rng);
  l.sm_read_gbps = gbps(rng);
  l.sm_write_gbps = gbps(rng);
  l.pageable_h2d_gbps = gbps(rng);
  l.pageable_d2h_gbps = gbps(rng);
  l.hbm_gbps = gbps(rng);
  l.latency_us = std::uniform_real_distribution<double>(0.5, 20.0)(rng);
  l.source = "profile test";
  return l;
}

MatrixCeiling ceiling(const LinkModel& link, MatrixMethod method, MatrixTier from, MatrixTier to,
                      std::size_t bytes = 64 * MiB) {
  return matrix_ceiling(link, MatrixCase{method, from, to, bytes});
}

std::size_t count(const std::vector<MatrixCase>& cases, MatrixMethod method) {
  return static_cast<std::size_t>(
      std::count_if(cases.begin(), cases.end(), [&](const MatrixCase& c) { return c.method == method; }));
}

TEST(MatrixCases, Sizes) {
  EXPECT_EQ(matrix_sizes(true), (std::vector<std::size_t>{4 * KiB, 1 * MiB, 64 * MiB, 256 * MiB}));
  const std::vector<std::size_t> full = matrix_sizes(false);
  ASSERT_EQ(full.size(), 10u);
  EXPECT_EQ(full.front(), 4 * KiB);
  EXPECT_EQ(full.back(), 1 * GiB);
  for (std::size_t i = 1; i < full.size(); ++i) EXPECT_EQ(full[i], 4 * full[i - 1]);
  EXPECT_EQ(latency_sizes(), (std::vector<std::size_t>{4 * KiB, 16 * KiB, 64 * KiB}));
  EXPECT_EQ(size_name(4 * KiB), "4KiB");
  EXPECT_EQ(size_name(256 * MiB), "256MiB");
  EXPECT_EQ(size_name(1 * GiB), "1GiB");
  EXPECT_EQ(size_name(1000), "1000B");
  EXPECT_EQ(matrix_buffer_bytes(true), 256 * MiB);
  EXPECT_EQ(matrix_buffer_bytes(false), 1 * GiB);
}

TEST(MatrixCases, BatchesFitTheBuffersAndKeepLargeCopiesSingle) {
  EXPECT_EQ(transfers_per_iteration(4 * KiB), 32);
  EXPECT_EQ(transfers_per_iteration(16 * MiB), 4);
  EXPECT_EQ(transfers_per_iteration(64 * MiB), 1);
  EXPECT_EQ(transfers_per_iteration(1 * GiB), 1);
  for (bool quick : {true, false}) {
    for (std::size_t bytes : matrix_sizes(quick)) {
      EXPECT_LE(static_cast<std::size_t>(transfers_per_iteration(bytes)) * bytes, matrix_buffer_bytes(quick)) << bytes;
    }
  }
  EXPECT_EQ(matrix_repeats(true), 5);
  EXPECT_GT(matrix_repeats(false), matrix_repeats(true));
}

TEST(MatrixCases, PcieHasNoPageableKernelsAndGh200Has) {
  const Platform pcie = assume_platform("x86-h100-pcie");
  const auto quick = matrix_cases(pcie, true);
  EXPECT_EQ(count(quick, MatrixMethod::memcpy), 16u * 4);
  EXPECT_EQ(count(quick, MatrixMethod::sm_copy), 9u * 4);   // device, pinned, managed
  EXPECT_EQ(count(quick, MatrixMethod::prefetch), 2u * 4);  // managed, both directions
  EXPECT_EQ(count(quick, MatrixMethod::bidirectional), 4u);
  EXPECT_EQ(count(quick, MatrixMethod::latency), 6u);
  for (const MatrixCase& c : quick) {
    if (c.method == MatrixMethod::sm_copy || c.method == MatrixMethod::prefetch) {
      EXPECT_NE(c.from, MatrixTier::pageable) << case_name(c);
      EXPECT_NE(c.to, MatrixTier::pageable) << case_name(c);
    }
  }
  const auto gh200 = matrix_cases(assume_platform("gh200"), true);
  EXPECT_EQ(count(gh200, MatrixMethod::sm_copy), 16u * 4);
  EXPECT_EQ(count(gh200, MatrixMethod::prefetch), 4u * 4);  // managed and pageable
  EXPECT_EQ(count(matrix_cases(pcie, false), MatrixMethod::memcpy), 16u * 10);
}

TEST(MatrixCases, NamesAreUniqueAndFilterable) {
  const std::regex shape(
      "bandwidth_matrix/(memcpy|sm_copy|prefetch|bidirectional|latency)/[a-z]+_[a-z_]+/[0-9]+(KiB|MiB|GiB)");
  for (const char* profile : {"gh200", "x86-h100-hmm", "x86-h100-pcie"}) {
    for (bool quick : {true, false}) {
      std::set<std::string> names;
      for (const MatrixCase& c : matrix_cases(assume_platform(profile), quick)) {
        const std::string name = case_name(c);
        EXPECT_TRUE(std::regex_match(name, shape)) << name;
        EXPECT_TRUE(names.insert(name).second) << "duplicate " << name;
      }
    }
  }
  EXPECT_EQ(case_name({MatrixMethod::memcpy, MatrixTier::pinned, MatrixTier::device, 64 * MiB}),
            "bandwidth_matrix/memcpy/pinned_to_device/64MiB");
  EXPECT_EQ(case_name({MatrixMethod::prefetch, MatrixTier::device, MatrixTier::managed, 4 * KiB}),
            "bandwidth_matrix/prefetch/managed_to_host/4KiB");
  EXPECT_EQ(case_name({MatrixMethod::prefetch, MatrixTier::managed, MatrixTier::device, 4 * KiB}),
            "bandwidth_matrix/prefetch/managed_to_device/4KiB");
  EXPECT_EQ(case_name({MatrixMethod::bidirectional, MatrixTier::pinned, MatrixTier::device, 1 * GiB}),
            "bandwidth_matrix/bidirectional/pinned_device/1GiB");
}

TEST(MatrixCases, CopyEngineCeilings) {
  auto rng = test::fresh_rng();
  const LinkModel l = random_link(rng);
  using T = MatrixTier;
  const auto m = MatrixMethod::memcpy;
  EXPECT_DOUBLE_EQ(ceiling(l, m, T::pinned, T::device).value, l.h2d_gbps);
  EXPECT_DOUBLE_EQ(ceiling(l, m, T::managed, T::device).value, l.h2d_gbps);
  EXPECT_DOUBLE_EQ(ceiling(l, m, T::pageable, T::device).value, l.pageable_h2d_gbps);
  EXPECT_DOUBLE_EQ(ceiling(l, m, T::device, T::pinned).value, l.d2h_gbps);
  EXPECT_DOUBLE_EQ(ceiling(l, m, T::device, T::managed).value, l.d2h_gbps);
  EXPECT_DOUBLE_EQ(ceiling(l, m, T::device, T::pageable).value, l.pageable_d2h_gbps);
  EXPECT_DOUBLE_EQ(ceiling(l, m, T::device, T::device).value, l.hbm_gbps / 2);
  for (T from : {T::pinned, T::pageable, T::managed}) {
    for (T to : {T::pinned, T::pageable, T::managed}) EXPECT_EQ(ceiling(l, m, from, to).value, 0);
  }
  EXPECT_EQ(ceiling(l, m, T::pinned, T::device).name, "profile test h2d_gbps");
  EXPECT_EQ(ceiling(l, m, T::pageable, T::device).name, "profile test pageable_h2d_gbps");
}

TEST(MatrixCases, KernelCeilings) {
  auto rng = test::fresh_rng();
  const LinkModel l = random_link(rng);
  using T = MatrixTier;
  const auto k = MatrixMethod::sm_copy;
  EXPECT_DOUBLE_EQ(ceiling(l, k, T::pinned, T::device).value, l.sm_read_gbps);
  EXPECT_DOUBLE_EQ(ceiling(l, k, T::pageable, T::device).value, l.sm_read_gbps);
  EXPECT_DOUBLE_EQ(ceiling(l, k, T::device, T::pinned).value, l.sm_write_gbps);
  EXPECT_DOUBLE_EQ(ceiling(l, k, T::device, T::device).value, l.hbm_gbps / 2);
  // Reads and writes cross the link in opposite directions: the slower one bounds the copy.
  EXPECT_DOUBLE_EQ(ceiling(l, k, T::pinned, T::pinned).value, std::min(l.sm_read_gbps, l.sm_write_gbps));
  // Managed memory starts on the host and migrates to the GPU whether read or written: two migrations
  // share the H2D direction, so their times per byte add up.
  EXPECT_DOUBLE_EQ(ceiling(l, k, T::managed, T::device).value, l.h2d_gbps);
  EXPECT_DOUBLE_EQ(ceiling(l, k, T::device, T::managed).value, l.h2d_gbps);
  EXPECT_NEAR(ceiling(l, k, T::managed, T::managed).value, l.h2d_gbps / 2, 1e-9 * l.h2d_gbps);
  EXPECT_NEAR(ceiling(l, k, T::pinned, T::managed).value, 1.0 / (1.0 / l.sm_read_gbps + 1.0 / l.h2d_gbps),
              1e-9 * l.h2d_gbps);
  EXPECT_NEAR(ceiling(l, k, T::managed, T::pinned).value, std::min(l.h2d_gbps, l.sm_write_gbps), 1e-9 * l.h2d_gbps);
  EXPECT_NE(ceiling(l, k, T::pinned, T::managed).name.find("sharing H2D"), std::string::npos);
}

TEST(MatrixCases, PrefetchBidirectionalAndLatencyCeilings) {
  auto rng = test::fresh_rng();
  const LinkModel l = random_link(rng);
  using T = MatrixTier;
  EXPECT_DOUBLE_EQ(ceiling(l, MatrixMethod::prefetch, T::managed, T::device).value, l.h2d_gbps);
  EXPECT_DOUBLE_EQ(ceiling(l, MatrixMethod::prefetch, T::device, T::managed).value, l.d2h_gbps);
  EXPECT_DOUBLE_EQ(ceiling(l, MatrixMethod::bidirectional, T::pinned, T::device).value, l.bidirectional_gbps);
  for (std::size_t bytes : latency_sizes()) {
    const double h2d_us = l.latency_us + static_cast<double>(bytes) / (l.h2d_gbps * 1e9) * 1e6;
    const double d2h_us = l.latency_us + static_cast<double>(bytes) / (l.d2h_gbps * 1e9) * 1e6;
    EXPECT_NEAR(ceiling(l, MatrixMethod::latency, T::pinned, T::device, bytes).value, h2d_us, 1e-9 * h2d_us);
    EXPECT_NEAR(ceiling(l, MatrixMethod::latency, T::device, T::pinned, bytes).value, d2h_us, 1e-9 * d2h_us);
  }
}

TEST(MatrixCases, OnlyAsyncCopiesGoBehindTheStreamBlocker) {
  using T = MatrixTier;
  auto blocked = [](MatrixMethod m, T from, T to) { return uses_stream_blocker({m, from, to, 64 * MiB}); };
  EXPECT_TRUE(blocked(MatrixMethod::memcpy, T::pinned, T::device));
  EXPECT_TRUE(blocked(MatrixMethod::memcpy, T::device, T::pinned));
  EXPECT_TRUE(blocked(MatrixMethod::memcpy, T::device, T::device));
  EXPECT_FALSE(blocked(MatrixMethod::memcpy, T::pinned, T::pinned));
  EXPECT_FALSE(blocked(MatrixMethod::memcpy, T::pageable, T::device));
  EXPECT_FALSE(blocked(MatrixMethod::memcpy, T::device, T::pageable));
  EXPECT_FALSE(blocked(MatrixMethod::memcpy, T::managed, T::device));
  EXPECT_FALSE(blocked(MatrixMethod::prefetch, T::managed, T::device));
  EXPECT_TRUE(blocked(MatrixMethod::sm_copy, T::managed, T::pinned));
  EXPECT_TRUE(blocked(MatrixMethod::bidirectional, T::pinned, T::device));
  EXPECT_TRUE(blocked(MatrixMethod::latency, T::device, T::pinned));
}

}  // namespace
}  // namespace ghtier::bench
