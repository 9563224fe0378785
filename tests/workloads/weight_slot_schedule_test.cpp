// The weight streamer's slot schedule: a forward pass streams every layer once with the ring kept full, a
// changed order degrades to urgent copies and then prefetches again, slots held by acquired layers are never
// evicted, refusals (unknown layer, release twice, every slot acquired, replan while acquired), and a random
// sequence checked against invariants that a simple model of the ring states.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "ghtier/error.hpp"
#include "test_support.hpp"
#include "workloads/weight_streaming/weight_slot_schedule.hpp"

namespace ghtier::detail {
namespace {

using P = WeightPlacement;

// Runs `passes` passes in the schedule's order; counts urgent and prefetch copies.
struct PassCounts {
  std::size_t urgent = 0, prefetched = 0;
};
PassCounts run_passes(WeightSlotSchedule& schedule, int passes) {
  PassCounts counts;
  for (int p = 0; p < passes; ++p) {
    for (std::size_t layer : schedule.order()) {
      const AcquireDecision d = schedule.acquire(layer);
      counts.urgent += d.urgent ? 1 : 0;
      counts.prefetched += d.prefetches.size();
      schedule.release(layer);
    }
  }
  return counts;
}

TEST(WeightSlotSchedule, SteadyPassesCopyEachStreamedLayerOnceAheadOfUse) {
  std::vector<P> placements(10, P::streamed);
  placements[3] = P::resident;
  placements[7] = P::in_place;
  WeightSlotSchedule schedule(placements, 3);
  const AcquireDecision first = schedule.acquire(0);
  ASSERT_TRUE(first.urgent);  // nothing was loaded: the first layer is copied on demand
  EXPECT_EQ(first.urgent->layer, 0u);
  ASSERT_EQ(first.prefetches.size(), 2u);  // the other two slots take the next streamed layers
  EXPECT_EQ(first.prefetches[0].layer, 1u);
  EXPECT_EQ(first.prefetches[1].layer, 2u);
  schedule.release(0);
  const AcquireDecision second = schedule.acquire(1);
  EXPECT_FALSE(second.urgent);
  ASSERT_EQ(second.prefetches.size(), 1u);
  EXPECT_EQ(second.prefetches[0].layer, 4u);  // 3 is resident: skipped
  ASSERT_TRUE(second.prefetches[0].evicted);
  EXPECT_EQ(*second.prefetches[0].evicted, 0u);  // the released layer's slot is reused
  schedule.release(1);
  // Finish this pass, then in the steady state every streamed layer (8 of them) is prefetched once per pass
  // and none is copied on demand; the ring wraps into the next pass.
  for (std::size_t layer = 2; layer < 10; ++layer) {
    (void)schedule.acquire(layer);
    schedule.release(layer);
  }
  const PassCounts steady = run_passes(schedule, 3);
  EXPECT_EQ(steady.urgent, 0u);
  EXPECT_EQ(steady.prefetched, 3u * 8u);
  EXPECT_FALSE(schedule.acquire(3).slot);  // resident: no slot
  EXPECT_FALSE(schedule.acquire(7).slot);  // in place: no slot
}

TEST(WeightSlotSchedule, OneSlotMeansEveryLayerOnDemand) {
  WeightSlotSchedule schedule(std::vector(5, P::streamed), 1);
  const PassCounts counts = run_passes(schedule, 2);
  EXPECT_EQ(counts.urgent, 10u);
  EXPECT_EQ(counts.prefetched, 0u);
}

TEST(WeightSlotSchedule, ChangedOrderDegradesToUrgentCopiesThenPrefetchesAgain) {
  WeightSlotSchedule schedule(std::vector(8, P::streamed), 3);
  (void)run_passes(schedule, 2);
  // Skip layers 2..4 (a skipped block): layer 5 was not prefetched, so it comes on demand...
  (void)schedule.acquire(0);
  schedule.release(0);
  (void)schedule.acquire(1);
  schedule.release(1);
  const AcquireDecision jump = schedule.acquire(5);
  ASSERT_TRUE(jump.urgent);
  EXPECT_EQ(jump.urgent->layer, 5u);
  // ... and prefetch resumes after it.
  ASSERT_FALSE(jump.prefetches.empty());
  EXPECT_EQ(jump.prefetches[0].layer, 6u);
  schedule.release(5);
  EXPECT_FALSE(schedule.acquire(6).urgent);
  schedule.release(6);
  // Backward: the reverse order repeats without urgent copies once it is set.
  std::vector<std::size_t> reverse(8);
  for (std::size_t i = 0; i < 8; ++i) reverse[i] = 7 - i;
  schedule.set_order(reverse);
  (void)run_passes(schedule, 1);
  EXPECT_EQ(run_passes(schedule, 2).urgent, 0u);
}

TEST(WeightSlotSchedule, Refusals) {
  WeightSlotSchedule schedule(std::vector(4, P::streamed), 2);
  EXPECT_THROW((void)schedule.acquire(4), Error);
  try {
    schedule.release(1);
    FAIL() << "release of a layer never acquired";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("layer 1"), std::string::npos) << e.what();
  }
  (void)schedule.acquire(0);
  (void)schedule.acquire(2);
  try {
    (void)schedule.acquire(3);  // both slots hold acquired layers
    FAIL() << "a third layer got a slot";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::out_of_budget);
  }
  EXPECT_THROW(schedule.replan(std::vector(4, P::resident), 0), Error);  // layers still acquired
  schedule.release(0);
  schedule.release(2);
  EXPECT_THROW(schedule.release(2), Error);  // twice
  EXPECT_THROW(schedule.set_order({0, 1, 1}), Error);
  EXPECT_THROW(schedule.set_order({0, 9}), Error);
  EXPECT_THROW(schedule.set_order({}), Error);
  EXPECT_THROW(schedule.replan(std::vector(3, P::resident), 0), Error);
  EXPECT_THROW(schedule.replan(std::vector(4, P::streamed), 0), Error);
  EXPECT_THROW(WeightSlotSchedule(std::vector(2, P::streamed), 0), Error);
}

// A slot whose copy could not be queued is forgotten: the next acquire of its layer copies it again.
TEST(WeightSlotSchedule, VacatedSlotsAreCopiedAgain) {
  WeightSlotSchedule schedule(std::vector(4, P::streamed), 2);
  const AcquireDecision first = schedule.acquire(0);
  ASSERT_EQ(first.prefetches.size(), 1u);
  const std::size_t prefetched_slot = first.prefetches[0].slot;
  EXPECT_THROW(schedule.vacate(*first.slot), Error);  // layer 0 is acquired
  EXPECT_THROW(schedule.vacate(5), Error);
  schedule.vacate(prefetched_slot);
  EXPECT_FALSE(schedule.holder(prefetched_slot));
  schedule.release(0);
  const AcquireDecision second = schedule.acquire(1);
  ASSERT_TRUE(second.urgent);  // not in a slot any more
  EXPECT_EQ(second.urgent->layer, 1u);
  EXPECT_FALSE(second.urgent->evicted);  // the vacated slot was free
  schedule.release(1);
}

TEST(WeightSlotSchedule, ReplanKeepsSlotsOfLayersThatStayStreamed) {
  WeightSlotSchedule schedule(std::vector(6, P::streamed), 4);
  (void)run_passes(schedule, 1);
  std::set<std::size_t> before;
  for (std::size_t s = 0; s < 4; ++s) {
    if (schedule.holder(s)) before.insert(*schedule.holder(s));
  }
  std::vector<P> placements(6, P::streamed);
  placements[0] = placements[1] = P::resident;
  schedule.replan(placements, 2);
  EXPECT_EQ(schedule.slots(), 2u);
  for (std::size_t s = 0; s < 2; ++s) {
    if (!schedule.holder(s)) continue;
    EXPECT_EQ(schedule.placement(*schedule.holder(s)), P::streamed);
    EXPECT_TRUE(before.count(*schedule.holder(s)));
  }
  EXPECT_LE(run_passes(schedule, 2).urgent, 2u);
}

// Random acquire/release sequences: a copy never targets a slot whose holder is acquired, a slot never holds
// two layers, every acquired streamed layer sits in the slot it was given, and an acquire reports the slot
// that holds the layer.
TEST(WeightSlotSchedule, RandomSequencesKeepTheRingConsistent) {
  auto rng = test::fresh_rng();
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 12)(rng);
    std::vector<P> placements(n);
    for (P& p : placements) p = static_cast<P>(std::uniform_int_distribution<int>(0, 2)(rng));
    const std::size_t slots = std::uniform_int_distribution<std::size_t>(1, 5)(rng);
    WeightSlotSchedule schedule(placements, slots);
    std::vector<std::size_t> held(n, 0);
    std::vector<std::optional<std::size_t>> given(n);
    for (int op = 0; op < 100; ++op) {
      const std::size_t layer = std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
      if (held[layer] > 0 && std::uniform_int_distribution<int>(0, 1)(rng)) {
        schedule.release(layer);
        --held[layer];
        continue;
      }
      AcquireDecision d;
      try {
        d = schedule.acquire(layer);
      } catch (const Error& e) {
        ASSERT_EQ(e.code(), ErrorCode::out_of_budget);
        std::size_t acquired_streamed = 0;
        for (std::size_t l = 0; l < n; ++l) acquired_streamed += (held[l] > 0 && placements[l] == P::streamed);
        ASSERT_EQ(acquired_streamed, slots);
        continue;
      }
      std::vector<SlotCopy> copies = d.prefetches;
      if (d.urgent) copies.push_back(*d.urgent);
      for (const SlotCopy& c : copies) {
        if (c.evicted) {
          ASSERT_EQ(held[*c.evicted], 0u) << "evicted an acquired layer";
        }
        ASSERT_EQ(schedule.holder(c.slot), c.layer);
      }
      ++held[layer];
      if (placements[layer] == P::streamed) {
        ASSERT_TRUE(d.slot);
        ASSERT_EQ(schedule.holder(*d.slot), layer);
        given[layer] = d.slot;
      } else {
        ASSERT_FALSE(d.slot);
      }
      std::set<std::size_t> holders;
      for (std::size_t s = 0; s < slots; ++s) {
        if (schedule.holder(s)) {
          ASSERT_TRUE(holders.insert(*schedule.holder(s)).second);
        }
      }
      for (std::size_t l = 0; l < n; ++l) {
        if (held[l] > 0 && placements[l] == P::streamed) {
          ASSERT_EQ(schedule.holder(*given[l]), l);
        }
      }
    }
  }
}

}  // namespace
}  // namespace ghtier::detail
