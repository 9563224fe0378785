// CPU tests (CI) of the SM copy's decisions: when prefer_sm_copy picks the SMs over a copy engine, how a 1D
// copy's grid is sized, and the arguments refused before any CUDA call.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "cuda/row_copy_plan.hpp"
#include "cuda/sm_copy_kernels.hpp"
#include "ghtier/kernels/sm_copy.hpp"
#include "ghtier/platform/platform.hpp"
#include "test_support.hpp"

using namespace ghtier;

namespace {
/// A link written out here (not a profile): copy engines at 55 GB/s, SM reads at 50, writes at 48.
LinkModel pcie_like() {
  LinkModel l;
  l.h2d_gbps = 55;
  l.d2h_gbps = 55;
  l.bidirectional_gbps = 90;
  l.sm_read_gbps = 50;
  l.sm_write_gbps = 48;
  l.pageable_h2d_gbps = 8;
  l.pageable_d2h_gbps = 14;
  l.hbm_gbps = 3000;
  l.latency_us = 1.2;
  return l;
}

/// The break-even size of the model, computed independently: (submit - launch) / (1/sm - 1/ce).
double break_even_bytes(double submit_us, double launch_us, double sm_gbps, double ce_gbps) {
  return (submit_us - launch_us) * 1e-6 / (1 / (sm_gbps * 1e9) - 1 / (ce_gbps * 1e9));
}
}  // namespace

TEST(PreferSmCopy, ContiguousCopiesStayOnTheCopyEngineWhereSmsAreSlower) {
  // The kernel's fixed cost is the larger (measured), and SMs move fewer bytes per second here: never.
  const LinkModel link = pcie_like();
  for (std::size_t bytes :
       {std::size_t{1}, std::size_t{4096}, std::size_t{64} << 10, std::size_t{1} << 20, std::size_t{1} << 30}) {
    EXPECT_FALSE(prefer_sm_copy(bytes, false, link, true)) << bytes;
    EXPECT_FALSE(prefer_sm_copy(bytes, false, link, false)) << bytes;
  }
}

TEST(PreferSmCopy, FasterSmsWinAboveTheBreakEvenInTheirDirectionOnly) {
  LinkModel link = pcie_like();
  link.sm_write_gbps = 66;  // SM writes faster than the copy engine's 55; SM reads still slower
  const double even = break_even_bytes(2.8, 4.0, 66, 55);  // about 0.4 MB
  ASSERT_GT(even, 0);
  EXPECT_FALSE(prefer_sm_copy(static_cast<std::size_t>(even * 0.9), false, link, /*host_to_device=*/false));
  EXPECT_TRUE(prefer_sm_copy(static_cast<std::size_t>(even * 1.1), false, link, /*host_to_device=*/false));
  EXPECT_FALSE(prefer_sm_copy(static_cast<std::size_t>(even * 1.1), false, link, /*host_to_device=*/true));
}

TEST(PreferSmCopy, StridedAlwaysAndEmptyNever) {
  const LinkModel link = pcie_like();
  EXPECT_TRUE(prefer_sm_copy(std::size_t{1} << 30, true, link));
  EXPECT_TRUE(prefer_sm_copy(1, true, link));
  EXPECT_FALSE(prefer_sm_copy(0, false, link));
  EXPECT_FALSE(prefer_sm_copy(0, true, link));
}

TEST(PreferSmCopy, CostsAreTunableAndSmsFasterThanCopyEnginesAlwaysWin) {
  LinkModel link = pcie_like();
  SmCopyCosts no_gap;
  no_gap.copy_engine_submit_us = 2.5;
  no_gap.kernel_launch_us = 2.5;
  EXPECT_FALSE(prefer_sm_copy(4096, false, link, true, no_gap));  // equal fixed costs, slower SMs
  link.sm_read_gbps = 60;
  EXPECT_TRUE(prefer_sm_copy(std::size_t{1} << 30, false, link));
}

TEST(PreferSmCopy, BuiltInProfilesGiveSensibleAnswers) {
  for (const char* name : {"gh200", "x86-h100-pcie", "x86-h100-hmm"}) {
    const LinkModel link = assume_platform(name).link;
    // Reads: copy engines are faster on every profile. Strided copies: always the SMs.
    EXPECT_FALSE(prefer_sm_copy(64 * 1024, false, link, true)) << name;
    EXPECT_FALSE(prefer_sm_copy(std::size_t{256} << 20, false, link, true)) << name;
    EXPECT_TRUE(prefer_sm_copy(64 * 1024, true, link, true)) << name;
    EXPECT_FALSE(prefer_sm_copy(64 * 1024, false, link, false)) << name;
  }
  // GH200's SM writes over C2C (328 GB/s) beat its device-to-host copy engine (298): large offloads.
  EXPECT_TRUE(prefer_sm_copy(std::size_t{256} << 20, false, assume_platform("gh200").link, false));
  EXPECT_FALSE(prefer_sm_copy(std::size_t{256} << 20, false, assume_platform("x86-h100-pcie").link, false));
}

TEST(PreferSmCopy, AnInvalidLinkModelIsRefused) {
  LinkModel link = pcie_like();
  link.sm_read_gbps = 0;
  EXPECT_GHTIER_ERROR((void)prefer_sm_copy(4096, false, link), ErrorCode::invalid_argument);
  link = pcie_like();
  link.h2d_gbps = std::nan("");
  EXPECT_GHTIER_ERROR((void)prefer_sm_copy(4096, false, link), ErrorCode::invalid_argument);
}

TEST(SmCopyGrid, OneWarpPerTaskUpToWhatTheSmsHold) {
  const unsigned warps_per_block = detail::row_copy_block_threads / 32;
  EXPECT_EQ(detail::sm_copy_grid_blocks(0, 132), 0u);
  EXPECT_EQ(detail::sm_copy_grid_blocks(1, 132), 1u);
  // 64 tasks (+2 for a possible unaligned lead and the rounding) -> 66 warps -> 9 blocks of 8 warps.
  EXPECT_EQ(detail::sm_copy_grid_blocks(64 * detail::sm_copy_task_bytes, 132),
            (66 + warps_per_block - 1) / warps_per_block);
  EXPECT_EQ(detail::sm_copy_grid_blocks(std::size_t{1} << 34, 132), 132u * detail::row_copy_blocks_per_sm);
  EXPECT_EQ(detail::sm_copy_grid_blocks(std::size_t{1} << 34, 0), detail::row_copy_blocks_per_sm);
}

TEST(SmCopyArguments, RefusedBeforeLaunch) {
  std::vector<unsigned char> a(256);
  std::vector<unsigned char> b(256);
  const auto invalid = ErrorCode::invalid_argument;
  EXPECT_GHTIER_ERROR(sm_copy(nullptr, b.data(), 16, nullptr), invalid);
  EXPECT_GHTIER_ERROR(sm_copy(a.data(), nullptr, 16, nullptr), invalid);
  EXPECT_GHTIER_ERROR(sm_copy(a.data(), a.data() + 8, 16, nullptr), invalid);  // overlapping
  EXPECT_GHTIER_ERROR(sm_copy(a.data() + 8, a.data(), 16, nullptr), invalid);
  EXPECT_GHTIER_ERROR(sm_copy_2d(nullptr, 64, b.data(), 64, 32, 4, nullptr), invalid);
  EXPECT_GHTIER_ERROR(sm_copy_2d(a.data(), 16, b.data(), 64, 32, 4, nullptr), invalid);  // dst_pitch < width
  EXPECT_GHTIER_ERROR(sm_copy_2d(a.data(), 64, b.data(), 16, 32, 4, nullptr), invalid);  // src_pitch < width
  EXPECT_GHTIER_ERROR(sm_copy_2d(a.data(), std::numeric_limits<std::size_t>::max() / 2, b.data(), 64, 32, 4, nullptr),
                      invalid);
  // Nothing to copy: no CUDA call at all, whatever the pointers.
  sm_copy(nullptr, nullptr, 0, nullptr);
  sm_copy_2d(nullptr, 0, nullptr, 0, 0, 5, nullptr);
  sm_copy_2d(nullptr, 0, nullptr, 0, 5, 0, nullptr);
}
