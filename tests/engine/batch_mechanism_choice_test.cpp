// CPU tests (CI) of the batch mechanism choice: explicit settings are obeyed, automatic follows the cost
// model, checked against an independent evaluation of the same formula, on the PCIe and GH200 profiles.
#include "engine/batch_mechanism_choice.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/batch_copy_kernel.hpp"
#include "ghtier/platform/platform.hpp"
#include "test_support.hpp"

namespace ghtier::detail {
namespace {

constexpr std::size_t KiB = std::size_t{1} << 10;
constexpr std::size_t MiB = std::size_t{1} << 20;

BatchShape shape_of(std::size_t items, std::size_t item_bytes, LaneId lane, bool reachable = true) {
  return BatchShape{items, items * item_bytes, lane, reachable, reachable};
}

TEST(BatchMechanismChoice, ExplicitSettingsAreObeyed) {
  const LinkModel link = assume_platform("x86-h100-pcie").link;
  const BatchShape small = shape_of(10'000, 16 * KiB, LaneId::to_device);
  EXPECT_FALSE(use_sm_batch(BatchMechanism::copy_engine, small, link));
  EXPECT_TRUE(use_sm_batch(BatchMechanism::sm_kernel, small, link));
  const BatchShape large = shape_of(2, 512 * MiB, LaneId::to_device);
  EXPECT_TRUE(use_sm_batch(BatchMechanism::sm_kernel, large, link));
}

TEST(BatchMechanismChoice, NoKernelWhereAKernelCannotReachTheItems) {
  const LinkModel link = assume_platform("x86-h100-pcie").link;
  const BatchShape unreachable = shape_of(10'000, 16 * KiB, LaneId::to_device, false);
  EXPECT_FALSE(use_sm_batch(BatchMechanism::sm_kernel, unreachable, link));
  EXPECT_FALSE(use_sm_batch(BatchMechanism::automatic, unreachable, link));
  EXPECT_FALSE(use_sm_batch(BatchMechanism::automatic, BatchShape{0, 0, LaneId::to_device, true, true}, link));
}

TEST(BatchMechanismChoice, AutomaticLeavesMigratingMemoryToTheCopyEngine) {
  const LinkModel link = assume_platform("x86-h100-pcie").link;
  BatchShape managed = shape_of(10'000, 16 * KiB, LaneId::to_device);
  managed.fixed_pages = false;  // e.g. a managed source: a kernel's reads would migrate it
  EXPECT_FALSE(use_sm_batch(BatchMechanism::automatic, managed, link));
  EXPECT_TRUE(use_sm_batch(BatchMechanism::sm_kernel, managed, link));  // asked for explicitly
}

TEST(BatchMechanismChoice, AutomaticTakesTheKernelForManySmallBlocksOnly) {
  for (const char* profile : {"x86-h100-pcie", "gh200"}) {
    SCOPED_TRACE(profile);
    const LinkModel link = assume_platform(profile).link;
    for (LaneId lane : {LaneId::to_device, LaneId::to_host}) {
      EXPECT_TRUE(use_sm_batch(BatchMechanism::automatic, shape_of(10'000, 16 * KiB, lane), link));
      EXPECT_TRUE(use_sm_batch(BatchMechanism::automatic, shape_of(256, 4 * KiB, lane), link));
      // Large items: the copy engine, whatever the bandwidths (SMs are shared with the caller's kernels).
      EXPECT_FALSE(use_sm_batch(BatchMechanism::automatic, shape_of(8, 64 * MiB, lane), link));
      EXPECT_FALSE(use_sm_batch(BatchMechanism::automatic, shape_of(1, 2 * MiB, lane), link));
    }
  }
}

TEST(BatchMechanismChoice, AutomaticMatchesTheCostModelOnRandomShapes) {
  auto rng = test::fresh_rng();
  const BatchCosts costs;
  for (const char* profile : {"x86-h100-pcie", "gh200"}) {
    const LinkModel link = assume_platform(profile).link;
    for (int trial = 0; trial < 2000; ++trial) {
      const std::size_t items = std::uniform_int_distribution<std::size_t>(1, 20'000)(rng);
      const std::size_t item_bytes = std::size_t{1} << std::uniform_int_distribution<int>(6, 24)(rng);
      const LaneId lane = static_cast<LaneId>(std::uniform_int_distribution<int>(0, 2)(rng));
      const BatchShape shape = shape_of(items, item_bytes, lane);
      // Independent evaluation: per-item cost against per-launch cost, bandwidths by lane.
      const double ce_gbps = lane == LaneId::to_device ? link.h2d_gbps
                             : lane == LaneId::to_host ? link.d2h_gbps
                                                       : link.hbm_gbps;
      const double sm_gbps = lane == LaneId::to_device ? link.sm_read_gbps
                             : lane == LaneId::to_host ? link.sm_write_gbps
                                                       : link.hbm_gbps;
      const double bytes = static_cast<double>(shape.bytes);
      const double launches = std::ceil(static_cast<double>(items) / sm_batch_max_items);
      const double ce = static_cast<double>(items) * costs.copy_engine_item_us * 1e-6 + bytes / (ce_gbps * 1e9);
      const double sm = launches * costs.kernel_launch_us * 1e-6 + bytes / (sm_gbps * 1e9);
      const bool expected = item_bytes <= sm_batch_mean_item_limit && sm < ce;
      ASSERT_EQ(use_sm_batch(BatchMechanism::automatic, shape, link, costs), expected)
          << profile << ": " << items << " items of " << item_bytes << " B on lane " << to_string(lane);
      EXPECT_NEAR(copy_engine_batch_seconds(shape, link, costs), ce, 1e-12 + 1e-9 * ce);
      EXPECT_NEAR(sm_batch_seconds(shape, link, costs), sm, 1e-12 + 1e-9 * sm);
    }
  }
}

TEST(BatchMechanismChoice, AnInvalidLinkIsRefusedForAutomatic) {
  LinkModel link = assume_platform("x86-h100-pcie").link;
  link.sm_read_gbps = 0;
  EXPECT_GHTIER_ERROR((void)use_sm_batch(BatchMechanism::automatic, shape_of(100, 16 * KiB, LaneId::to_device), link),
                      ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace ghtier::detail
