// The weight planner: its pass model against an independent longest-path reference on random profiles,
// the bound, budgets (all resident when everything fits, refusal below one slot with the minimum named,
// never slower with more budget), brute force on small profiles (the exact search, and the local search
// forced), the hedge over two compute cases, GH200 in-place reads, argument errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <new>
#include <random>
#include <string>
#include <utility>

#include "ghtier/error.hpp"
#include "ghtier/platform/platform.hpp"
#include "ghtier/workloads/weight_plan.hpp"
#include "test_support.hpp"
#include "workloads/weight_streaming/weight_plan_search.hpp"

namespace ghtier {
namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;

LinkModel link_of(double h2d_gbps, double sm_read_gbps = 0, double latency_us = 0) {
  LinkModel link;
  link.h2d_gbps = h2d_gbps;
  link.d2h_gbps = h2d_gbps;
  link.sm_read_gbps = sm_read_gbps;
  link.latency_us = latency_us;
  return link;
}

std::vector<WeightLayerProfile> random_layers(std::mt19937_64& rng, std::size_t n) {
  std::uniform_real_distribution<double> ms(0.05, 10.0);
  std::uniform_int_distribution<std::size_t> mib(1, 1024);
  std::vector<WeightLayerProfile> layers(n);
  for (WeightLayerProfile& l : layers) {
    l.weight_bytes = mib(rng) * MiB;
    l.compute_seconds = ms(rng) * 1e-3;
  }
  return layers;
}

std::vector<WeightPlacement> random_placements(std::mt19937_64& rng, std::size_t n, bool in_place) {
  std::uniform_int_distribution<int> pick(0, in_place ? 2 : 1);
  std::vector<WeightPlacement> out(n);
  for (WeightPlacement& p : out) p = static_cast<WeightPlacement>(pick(rng));
  return out;
}

// The reference: every constraint of the model as an edge of a longest-path problem over all layer
// instances of four passes, relaxed until nothing moves (Bellman-Ford style), not simulated in order.
double reference_step(const std::vector<WeightLayerProfile>& layers, const LinkModel& link,
                      const std::vector<WeightPlacement>& placements, std::size_t slots) {
  const std::size_t n = layers.size(), passes = 4, total = n * passes;
  std::vector<double> compute(total), copy(total, 0), begin(total, 0), copy_end(total, 0);
  std::vector<long> streamed_index(total, -1), instance_of_copy;
  for (std::size_t j = 0; j < total; ++j) {
    const WeightLayerProfile& l = layers[j % n];
    compute[j] = l.compute_seconds;
    if (placements[j % n] == WeightPlacement::in_place)
      compute[j] = std::max(compute[j], double(l.weight_bytes) / (link.sm_read_gbps * 1e9));
    if (placements[j % n] == WeightPlacement::streamed) {
      streamed_index[j] = long(instance_of_copy.size());
      instance_of_copy.push_back(long(j));
      copy[j] = link.latency_us * 1e-6 + double(l.weight_bytes) / (link.h2d_gbps * 1e9);
    }
  }
  for (bool moved = true; moved;) {
    moved = false;
    auto raise = [&](double& value, double at_least) {
      if (at_least > value + 1e-15) {
        value = at_least;
        moved = true;
      }
    };
    for (std::size_t j = 0; j < total; ++j) {
      if (j > 0) raise(begin[j], begin[j - 1] + compute[j - 1]);
      if (streamed_index[j] < 0) continue;
      const long k = streamed_index[j];
      double copy_start = 0;
      if (k > 0) copy_start = std::max(copy_start, copy_end[std::size_t(instance_of_copy[std::size_t(k - 1)])]);
      if (k >= long(slots)) {
        const std::size_t user = std::size_t(instance_of_copy[std::size_t(k - long(slots))]);
        copy_start = std::max(copy_start, begin[user] + compute[user]);
      }
      raise(copy_end[j], copy_start + copy[j]);
      raise(begin[j], copy_end[j]);
    }
  }
  const std::size_t last = total - 1, before = total - n - 1;
  return (begin[last] + compute[last]) - (begin[before] + compute[before]);
}

TEST(WeightStepModel, MatchesALongestPathReferenceOnRandomProfiles) {
  auto rng = test::fresh_rng();
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 20)(rng);
    const auto layers = random_layers(rng, n);
    const auto placements = random_placements(rng, n, true);
    const std::size_t slots = std::uniform_int_distribution<std::size_t>(1, n + 1)(rng);
    const LinkModel link = link_of(std::uniform_real_distribution<double>(5, 500)(rng),
                                   std::uniform_real_distribution<double>(5, 500)(rng), 2.0);
    const WeightStepPrediction p = simulate_weight_step(layers, link, placements, slots);
    const double reference = reference_step(layers, link, placements, slots);
    ASSERT_NEAR(p.step_seconds, reference, 1e-9 * std::max(1.0, reference)) << "trial " << trial;
    ASSERT_GE(p.step_seconds, p.bound_seconds * (1 - 1e-12)) << "trial " << trial;
    std::size_t resident = 0, streamed = 0, largest = 0;
    for (std::size_t i = 0; i < n; ++i) {
      largest = std::max(largest, layers[i].weight_bytes);
      if (placements[i] == WeightPlacement::resident) resident += layers[i].weight_bytes;
      if (placements[i] == WeightPlacement::streamed) streamed += layers[i].weight_bytes;
    }
    ASSERT_EQ(p.resident_bytes, resident);
    ASSERT_EQ(p.streamed_bytes, streamed);
    ASSERT_EQ(p.device_bytes, resident + slots * largest);
  }
}

TEST(WeightStepModel, OneSlotIsTheNaiveCopyThenComputeLoop) {
  auto rng = test::fresh_rng();
  const auto layers = random_layers(rng, 12);
  const LinkModel link = link_of(50, 0, 3.0);
  double serial = 0;
  for (const auto& l : layers) serial += l.compute_seconds + link.copy_seconds(l.weight_bytes, true);
  const auto p = simulate_weight_step(layers, link, std::vector(12, WeightPlacement::streamed), 1);
  EXPECT_NEAR(p.step_seconds, serial, 1e-12);
  EXPECT_NEAR(p.first_step_seconds, serial, 1e-12);
}

TEST(WeightStepModel, RefusesMalformedInput) {
  const std::vector<WeightLayerProfile> layers(3, {64 * MiB, 1e-3});
  EXPECT_THROW((void)simulate_weight_step(layers, link_of(50), std::vector(2, WeightPlacement::resident), 1), Error);
  EXPECT_THROW((void)simulate_weight_step(layers, link_of(50), std::vector(3, WeightPlacement::streamed), 0), Error);
  EXPECT_THROW((void)simulate_weight_step(layers, link_of(0), std::vector(3, WeightPlacement::streamed), 1), Error);
  EXPECT_THROW((void)simulate_weight_step(layers, link_of(50, 0), std::vector(3, WeightPlacement::in_place), 0), Error);
  auto bad = layers;
  bad[1].compute_seconds = -1;
  EXPECT_THROW((void)simulate_weight_step(bad, link_of(50), std::vector(3, WeightPlacement::resident), 0), Error);
}

TEST(WeightPlanner, KeepsEverythingResidentWhenItFits) {
  auto rng = test::fresh_rng();
  const auto layers = random_layers(rng, 10);
  std::size_t total = 0;
  double compute = 0;
  for (const auto& l : layers) total += l.weight_bytes, compute += l.compute_seconds;
  WeightPlanRequest request{layers, link_of(50), total};
  const WeightPlan plan = plan_weights(request);
  EXPECT_EQ(plan.placements, std::vector(10, WeightPlacement::resident));
  EXPECT_EQ(plan.ring_slots, 0u);
  EXPECT_NEAR(plan.predicted.step_seconds, compute, 1e-12);
}

TEST(WeightPlanner, RefusesABudgetBelowOneSlotNamingTheMinimum) {
  std::vector<WeightLayerProfile> layers(4, {100 * MiB, 1e-3});
  layers[2].weight_bytes = 300 * MiB;
  WeightPlanRequest request{layers, link_of(50), 300 * MiB - 1};
  EXPECT_EQ(minimum_weight_budget(request), 300 * MiB);
  try {
    (void)plan_weights(request);
    FAIL() << "a budget below the largest layer was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::out_of_budget);
    EXPECT_NE(std::string(e.what()).find(std::to_string(300 * MiB)), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)plan_weights(request), std::bad_alloc);
  request.device_budget_bytes = 300 * MiB;
  const WeightPlan plan = plan_weights(request);
  EXPECT_EQ(plan.ring_slots, 1u);
  EXPECT_LE(plan.predicted.device_bytes, request.device_budget_bytes);
}

TEST(WeightPlanner, RefusesBadRequests) {
  WeightPlanRequest empty{{}, link_of(50), 1};
  EXPECT_THROW((void)plan_weights(empty), Error);
  WeightPlanRequest no_link{std::vector<WeightLayerProfile>(2, {MiB, 1e-3}), link_of(0), MiB};
  EXPECT_THROW((void)plan_weights(no_link), Error);
  WeightPlanRequest nan_time{std::vector<WeightLayerProfile>(2, {MiB, NAN}), link_of(50), MiB};
  EXPECT_THROW((void)plan_weights(nan_time), Error);
  WeightPlanRequest endless{std::vector<WeightLayerProfile>(2, {MiB, 1e-3}), link_of(50, 0, INFINITY), MiB};
  EXPECT_THROW((void)plan_weights(endless), Error);
}

// The fastest plan over every resident subset and ring size up to `max_slots` that fits the budget
// (streamed layers only: no in-place reads), with a description of it.
std::pair<double, std::string> brute_force_best(const WeightPlanRequest& request, std::size_t max_slots) {
  const auto& layers = request.layers;
  const std::size_t n = layers.size();
  std::size_t largest = 0;
  for (const auto& l : layers) largest = std::max(largest, l.weight_bytes);
  double best = INFINITY;
  std::string best_text;
  for (unsigned mask = 0; mask < (1u << n); ++mask) {
    std::vector<WeightPlacement> placements(n, WeightPlacement::streamed);
    std::size_t resident = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (mask & (1u << i)) placements[i] = WeightPlacement::resident, resident += layers[i].weight_bytes;
    }
    for (std::size_t slots = mask + 1 == (1u << n) ? 0 : 1; slots <= max_slots; ++slots) {
      if (resident + slots * largest > request.device_budget_bytes) break;
      const double t = simulate_weight_step(layers, request.link, placements, slots).step_seconds;
      if (t < best) {
        best = t;
        best_text = "mask " + std::to_string(mask) + " slots " + std::to_string(slots);
      }
    }
  }
  return {best, best_text};
}

// A random request over n layers (alike: all of one size and compute time, as a transformer's decoder
// layers), a random link and a budget between one slot and everything resident plus a slot.
WeightPlanRequest random_request(std::mt19937_64& rng, std::size_t n, bool alike) {
  auto layers = random_layers(rng, n);
  if (alike) std::fill(layers.begin(), layers.end(), layers[0]);
  std::size_t total = 0, largest = 0;
  for (const auto& l : layers) total += l.weight_bytes, largest = std::max(largest, l.weight_bytes);
  WeightPlanRequest request{layers, link_of(std::uniform_real_distribution<double>(20, 400)(rng)), 0};
  request.device_budget_bytes = std::uniform_int_distribution<std::size_t>(largest, total + largest)(rng);
  return request;
}

// Every resident subset and ring size of small profiles: the planner searches them all where the layers
// are this few, so its pick fits and is the best (to rounding), on alike and on wildly uneven layers.
TEST(WeightPlanner, MatchesBruteForceOnSmallProfiles) {
  auto rng = test::fresh_rng();
  for (int trial = 0; trial < 80; ++trial) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(2, 9)(rng);
    WeightPlanRequest request = random_request(rng, n, trial % 2 == 0);
    request.max_slots = n;
    const WeightPlan plan = plan_weights(request);
    ASSERT_LE(plan.predicted.device_bytes, request.device_budget_bytes);
    const auto [best, best_text] = brute_force_best(request, n);
    ASSERT_LE(plan.predicted.step_seconds, best * (1 + 1e-9)) << "trial " << trial << ": best " << best_text << "\n"
                                                              << describe_weight_plan(request, plan);
  }
}

// The local search that plan_weights uses past a few layers, forced on small profiles: within 1% of the
// best on average, and never more than 20% off on wildly uneven random layers (measured: 1 in about 500
// random requests is off at all, the worst of 10,000 by 9%).
TEST(WeightPlanner, LocalSearchComesCloseToBruteForce) {
  auto rng = test::fresh_rng();
  double ratio_sum = 0;
  const int trials = 200;
  for (int trial = 0; trial < trials; ++trial) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(2, 9)(rng);
    const bool alike = trial % 4 == 0;
    WeightPlanRequest request = random_request(rng, n, alike);
    request.max_slots = n;
    const WeightPlan plan = detail::plan_weights_by(request, detail::WeightSearchMethod::local_only);
    ASSERT_LE(plan.predicted.device_bytes, request.device_budget_bytes);
    const auto [best, best_text] = brute_force_best(request, n);
    ASSERT_LE(plan.predicted.step_seconds, best * (alike ? 1.01 : 1.2))
        << "trial " << trial << ": best " << best_text << "\n"
        << describe_weight_plan(request, plan);
    ratio_sum += plan.predicted.step_seconds / best;
  }
  EXPECT_LE(ratio_sum / trials, 1.01);
}

// The local search forced on 12-14 uneven layers at the default 8 slots (plan_weights searches these
// exactly, near its limit; past it, the local search is what it uses): still close to the best.
TEST(WeightPlanner, LocalSearchComesCloseToBruteForceOnLargerProfiles) {
  auto rng = test::fresh_rng();
  for (int trial = 0; trial < 4; ++trial) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(12, 14)(rng);
    const WeightPlanRequest request = random_request(rng, n, false);
    const WeightPlan plan = detail::plan_weights_by(request, detail::WeightSearchMethod::local_only);
    ASSERT_LE(plan.predicted.device_bytes, request.device_budget_bytes);
    const auto [best, best_text] = brute_force_best(request, request.max_slots);
    ASSERT_LE(plan.predicted.step_seconds, best * 1.2) << "trial " << trial << ": best " << best_text << "\n"
                                                       << describe_weight_plan(request, plan);
  }
}

// Decoder layers of one size with random compute times: a larger budget never predicts a slower pass.
TEST(WeightPlanner, MoreBudgetIsNeverSlower) {
  auto rng = test::fresh_rng();
  for (int trial = 0; trial < 20; ++trial) {
    auto layers = random_layers(rng, 16);
    for (auto& l : layers) l.weight_bytes = layers[0].weight_bytes;
    std::size_t total = 0, largest = 0;
    for (const auto& l : layers) total += l.weight_bytes, largest = std::max(largest, l.weight_bytes);
    WeightPlanRequest request{layers, link_of(55), largest};
    double previous = INFINITY;
    for (int step = 0; step <= 10; ++step) {
      request.device_budget_bytes = largest + (total * std::size_t(step)) / 10;
      const double now = plan_weights(request).predicted.step_seconds;
      ASSERT_LE(now, previous * 1.001) << "trial " << trial << " budget step " << step;
      previous = std::min(previous, now);
    }
  }
}

// Llama-3-8B-shaped layers (218 M parameters, 416 MiB of bf16 weights each) over PCIe. Decode (compute far
// below the copy): every budget comes within 5% of its link bound and far below the naive loop. Prefill
// (compute above the copy): the ring overlaps copies with compute, within 2% of the bound.
TEST(WeightPlanner, LlamaShapedPassesOverPcieComeCloseToTheBound) {
  for (double layer_ms : {0.25, 10.0}) {
    const std::vector<WeightLayerProfile> layers(32, {416 * MiB, layer_ms * 1e-3});
    WeightPlanRequest request{layers, platform_profile("x86-h100-pcie").link, 0};
    for (double fraction : {0.0, 0.25, 0.5, 0.75}) {
      request.device_budget_bytes = std::size_t(fraction * 32 * 416) * MiB + 3 * 416 * MiB;
      const WeightPlan plan = plan_weights(request);
      EXPECT_LE(plan.predicted.step_seconds, plan.predicted.bound_seconds * (layer_ms < 1 ? 1.05 : 1.02))
          << layer_ms << " ms, budget " << fraction;
      EXPECT_LT(plan.predicted.step_seconds, plan.naive.step_seconds) << fraction;
      EXPECT_LE(plan.predicted.device_bytes, request.device_budget_bytes);
      if (layer_ms > 1 && fraction == 0) {
        EXPECT_GE(plan.ring_slots, 2u);  // nothing resident hides a copy
      }
    }
  }
}

// The request with each layer's compute raised to its copy time: the hedge's second case, written out here
// from the model's definition (latency plus bytes over h2d), not through the planner's own helper.
WeightPlanRequest with_long_compute(WeightPlanRequest request) {
  for (WeightLayerProfile& l : request.layers) {
    l.compute_seconds = std::max(
        l.compute_seconds, request.link.latency_us * 1e-6 + double(l.weight_bytes) / (request.link.h2d_gbps * 1e9));
  }
  return request;
}

// The worse of a plan's two relative losses against the brute-force best of each case.
double regret(const WeightPlanRequest& request, const WeightPlan& plan, double best_given, double best_long) {
  const WeightPlanRequest long_compute = with_long_compute(request);
  const double given =
      simulate_weight_step(request.layers, request.link, plan.placements, plan.ring_slots).step_seconds;
  const double longer =
      simulate_weight_step(long_compute.layers, long_compute.link, plan.placements, plan.ring_slots).step_seconds;
  return std::max(given / best_given, longer / best_long);
}

// The benchmark's shape (Llama-3-8B layers, 416 MiB, decode compute 0.1 ms, PCIe at 55 GB/s) at a budget of
// two layers: the plain planner keeps one layer resident and streams through one slot (each copy waits for
// the previous layer's compute: fine for decode, 1.9x the bound for a prefill whose compute matches the copy);
// hedged, it streams through two slots: one more layer copied in decode, far faster for prefill.
TEST(WeightPlanner, HedgedPlanKeepsTwoSlotsWhereOneSerialisesCopyAndCompute) {
  const std::vector<WeightLayerProfile> layers(8, {416 * MiB, 0.1e-3});
  WeightPlanRequest request{layers, link_of(55), 2 * 416 * MiB};
  const WeightPlan plain = plan_weights(request);
  EXPECT_EQ(plain.ring_slots, 1u);
  request.hedge_compute = true;
  const WeightPlan hedged = plan_weights(request);
  EXPECT_EQ(hedged.ring_slots, 2u);
  // Decode: it copies 8 layers where the plain plan copies 7 and computes between: at most 8/7 as long.
  EXPECT_LE(hedged.predicted.step_seconds, plain.predicted.step_seconds * 8 / 7);
  const WeightPlanRequest prefill = with_long_compute(request);
  const double plain_prefill =
      simulate_weight_step(prefill.layers, prefill.link, plain.placements, plain.ring_slots).step_seconds;
  const double hedged_prefill =
      simulate_weight_step(prefill.layers, prefill.link, hedged.placements, hedged.ring_slots).step_seconds;
  EXPECT_LT(hedged_prefill, plain_prefill * 0.75);
  // `predicted` stays the given case's prediction.
  EXPECT_DOUBLE_EQ(hedged.predicted.step_seconds,
                   simulate_weight_step(layers, request.link, hedged.placements, hedged.ring_slots).step_seconds);
}

// Random small profiles: the hedged plan fits the budget, and its worse relative loss over the two cases is
// no larger than the plain plan's (both measured against brute force of each case).
TEST(WeightPlanner, HedgedPlanLosesLeastOverBothComputeCases) {
  auto rng = test::fresh_rng();
  for (int trial = 0; trial < 60; ++trial) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(2, 8)(rng);
    WeightPlanRequest request = random_request(rng, n, trial % 2 == 0);
    request.max_slots = n;
    const WeightPlan plain = plan_weights(request);
    request.hedge_compute = true;
    const WeightPlan hedged = plan_weights(request);
    ASSERT_LE(hedged.predicted.device_bytes, request.device_budget_bytes);
    const double best_given = brute_force_best(request, n).first;
    const double best_long = brute_force_best(with_long_compute(request), n).first;
    const double r_hedged = regret(request, hedged, best_given, best_long);
    EXPECT_LE(r_hedged, regret(request, plain, best_given, best_long) * (1 + 1e-9))
        << "trial " << trial << "\n"
        << describe_weight_plan(request, hedged);
    EXPECT_GE(r_hedged, 1.0 - 1e-9);
  }
}

// GH200 at the least budget: no ring at all, every layer read in place over C2C, faster than copying each
// layer before its compute; with in-place reads off, the least budget is one slot.
TEST(WeightPlanner, Gh200ReadsInPlaceWhenTheBudgetHoldsNoRing) {
  const std::vector<WeightLayerProfile> layers(16, {416 * MiB, 0.5e-3});
  WeightPlanRequest request{layers, platform_profile("gh200").link, 0};
  request.allow_in_place = true;
  EXPECT_EQ(minimum_weight_budget(request), 0u);
  const WeightPlan plan = plan_weights(request);
  EXPECT_EQ(plan.placements, std::vector(16, WeightPlacement::in_place));
  EXPECT_EQ(plan.ring_slots, 0u);
  EXPECT_LT(plan.predicted.step_seconds, plan.naive.step_seconds);
  request.allow_in_place = false;
  EXPECT_EQ(minimum_weight_budget(request), 416 * MiB);
  EXPECT_THROW((void)plan_weights(request), std::bad_alloc);
}

TEST(WeightPlanner, DescribesAndSerialisesThePlan) {
  const std::vector<WeightLayerProfile> layers(4, {100 * MiB, 1e-3});
  WeightPlanRequest request{layers, link_of(50), 300 * MiB};
  const WeightPlan plan = plan_weights(request);
  const std::string text = describe_weight_plan(request, plan);
  EXPECT_NE(text.find("Ring:"), std::string::npos) << text;
  EXPECT_NE(text.find("streamed"), std::string::npos) << text;
  const std::string json = weight_plan_to_json(plan);
  EXPECT_NE(json.find("\"ring_slots\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"placements\""), std::string::npos) << json;
}

}  // namespace
}  // namespace ghtier
