// StagingRing: both directions' state machines, ring order, illegal transitions, and a random walk against
// a reference model.
#include "engine/staging_ring.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "test_support.hpp"

namespace ghtier::detail {
namespace {

TEST(StagingRing, NeedsASlot) { EXPECT_GHTIER_ERROR(StagingRing(0), ErrorCode::invalid_argument); }

TEST(StagingRing, ToDeviceFillsThenDmas) {
  StagingRing ring(2);
  const auto slot = ring.acquire(StagingDirection::to_device);
  ASSERT_TRUE(slot.has_value());
  EXPECT_EQ(*slot, 0u);
  EXPECT_EQ(ring.state(0), SlotState::filling);
  ring.start_dma(0);
  EXPECT_EQ(ring.state(0), SlotState::in_flight);
  EXPECT_GHTIER_ERROR(ring.start_drain(0), ErrorCode::internal);  // nothing to drain on the way to the GPU
  ring.release(0);
  EXPECT_EQ(ring.state(0), SlotState::free);
  EXPECT_EQ(ring.in_use(), 0u);
}

TEST(StagingRing, ToHostDmasThenDrains) {
  StagingRing ring(2);
  const auto slot = ring.acquire(StagingDirection::to_host);
  ASSERT_TRUE(slot.has_value());
  EXPECT_EQ(ring.state(*slot), SlotState::in_flight);
  EXPECT_GHTIER_ERROR(ring.release(*slot), ErrorCode::internal);  // still draining to do
  ring.start_drain(*slot);
  EXPECT_EQ(ring.state(*slot), SlotState::draining);
  ring.release(*slot);
  EXPECT_EQ(ring.state(*slot), SlotState::free);
}

TEST(StagingRing, IllegalTransitionsAreInternalErrors) {
  StagingRing ring(3);
  EXPECT_GHTIER_ERROR(ring.start_dma(0), ErrorCode::internal);
  EXPECT_GHTIER_ERROR(ring.start_drain(0), ErrorCode::internal);
  EXPECT_GHTIER_ERROR(ring.release(0), ErrorCode::internal);
  EXPECT_GHTIER_ERROR(ring.start_dma(7), ErrorCode::internal);
  EXPECT_GHTIER_ERROR((void)ring.state(3), ErrorCode::invalid_argument);
  (void)ring.acquire(StagingDirection::to_device);
  ring.start_dma(0);
  EXPECT_GHTIER_ERROR(ring.start_dma(0), ErrorCode::internal);
}

TEST(StagingRing, SlotsAreUsedInRingOrderAndTheOldestBlocks) {
  StagingRing ring(3);
  EXPECT_EQ(*ring.acquire(StagingDirection::to_device), 0u);
  EXPECT_EQ(*ring.acquire(StagingDirection::to_device), 1u);
  EXPECT_EQ(*ring.acquire(StagingDirection::to_device), 2u);
  EXPECT_FALSE(ring.acquire(StagingDirection::to_device).has_value());
  EXPECT_EQ(ring.in_use(), 3u);
  // Freeing slot 1 does not help: the ring waits for its oldest slot, 0.
  ring.start_dma(1);
  ring.release(1);
  EXPECT_FALSE(ring.acquire(StagingDirection::to_device).has_value());
  ring.start_dma(0);
  ring.release(0);
  EXPECT_EQ(*ring.acquire(StagingDirection::to_host), 0u);
  EXPECT_EQ(ring.direction(0), StagingDirection::to_host);
  EXPECT_EQ(ring.peak_in_use(), 3u);
}

TEST(StagingRing, RandomWalkMatchesAReferenceModel) {
  auto rng = test::fresh_rng();
  for (int trial = 0; trial < 100; ++trial) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 8)(rng);
    StagingRing ring(n);
    std::vector<SlotState> model(n, SlotState::free);
    std::vector<StagingDirection> direction(n, StagingDirection::to_device);
    std::size_t next = 0;
    std::size_t peak = 0;
    for (int step = 0; step < 1000; ++step) {
      const int action = std::uniform_int_distribution<int>(0, 3)(rng);
      const std::size_t slot = std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
      if (action == 0) {
        const auto dir =
            std::bernoulli_distribution(0.5)(rng) ? StagingDirection::to_device : StagingDirection::to_host;
        const auto got = ring.acquire(dir);
        if (model[next] == SlotState::free) {
          ASSERT_TRUE(got.has_value());
          ASSERT_EQ(*got, next);
          model[next] = dir == StagingDirection::to_device ? SlotState::filling : SlotState::in_flight;
          direction[next] = dir;
          next = (next + 1) % n;
        } else {
          ASSERT_FALSE(got.has_value());
        }
      } else if (action == 1) {
        if (model[slot] == SlotState::filling) {
          ring.start_dma(slot);
          model[slot] = SlotState::in_flight;
        } else {
          EXPECT_GHTIER_ERROR(ring.start_dma(slot), ErrorCode::internal);
        }
      } else if (action == 2) {
        if (model[slot] == SlotState::in_flight && direction[slot] == StagingDirection::to_host) {
          ring.start_drain(slot);
          model[slot] = SlotState::draining;
        } else {
          EXPECT_GHTIER_ERROR(ring.start_drain(slot), ErrorCode::internal);
        }
      } else {
        const bool legal = (direction[slot] == StagingDirection::to_device && model[slot] == SlotState::in_flight) ||
                           (direction[slot] == StagingDirection::to_host && model[slot] == SlotState::draining);
        if (legal) {
          ring.release(slot);
          model[slot] = SlotState::free;
        } else {
          EXPECT_GHTIER_ERROR(ring.release(slot), ErrorCode::internal);
        }
      }
      std::size_t used = 0;
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(ring.state(i), model[i]) << "slot " << i << " at step " << step;
        if (model[i] != SlotState::free) ++used;
      }
      peak = std::max(peak, used);
      ASSERT_EQ(ring.in_use(), used);
      ASSERT_EQ(ring.next(), next);
    }
    EXPECT_EQ(ring.peak_in_use(), peak);
  }
}

}  // namespace
}  // namespace ghtier::detail
