// The Runtime's logic without a GPU: policy-driven allocation over fake CPU resources, re-resolution when
// the device refuses, budgets and statistics (16 threads), Buffer ownership, lookups, argument checks of
// the pointer-stable operations, the offline runtime, and the no-GPU error.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "fake_resource.hpp"
#include "ghtier/policy/builtin_policy.hpp"
#include "ghtier/runtime/runtime.hpp"
#include "ghtier/runtime/scoped_advice.hpp"
#include "test_support.hpp"

using namespace ghtier;
using ghtier::test::FakeResource;

namespace {
AdviceSet read_mostly_phase() {
  AdviceSet a;
  a.read_mostly = true;
  return a;
}

constexpr std::size_t KiB = std::size_t{1} << 10;
constexpr std::size_t MiB = std::size_t{1} << 20;

struct Fakes {
  std::shared_ptr<FakeResource> device;
  std::shared_ptr<FakeResource> pinned;
  std::shared_ptr<FakeResource> managed;
  std::shared_ptr<FakeResource> system;
  RuntimeResources resources() const { return {device, pinned, managed, system}; }
};

Fakes make_fakes(std::size_t device_capacity = std::numeric_limits<std::size_t>::max()) {
  return {std::make_shared<FakeResource>(MemoryMode::device, device_capacity),
          std::make_shared<FakeResource>(MemoryMode::pinned_host), std::make_shared<FakeResource>(MemoryMode::managed),
          std::make_shared<FakeResource>(MemoryMode::system, std::numeric_limits<std::size_t>::max(), true)};
}

PlacementRequest gpu(std::size_t bytes, std::string tag = "t") {
  return {bytes, Accessor::gpu, AccessFrequency::hot, false, std::move(tag)};
}

// The x86 + H100 profile: spilled GPU data lands in pinned memory, which takes no advice (no CUDA calls).
Platform pcie() { return assume_platform("x86-h100-pcie"); }
}  // namespace

TEST(Runtime, SpillGoesToDeviceThenToPinnedPastTheBudget) {
  Fakes f = make_fakes();
  RuntimeOptions options;
  options.device_budget = 3 * MiB;
  Runtime runtime(pcie(), f.resources(), options);
  EXPECT_EQ(runtime.policy()->name(), "spill");
  Buffer a = runtime.allocate(gpu(2 * MiB));
  EXPECT_EQ(a.mode(), MemoryMode::device);
  Buffer b = runtime.allocate(gpu(2 * MiB));  // 1 MiB of room left: spills
  EXPECT_EQ(b.mode(), MemoryMode::pinned_host);
  EXPECT_NE(b.placement().reason.find("past the device budget"), std::string::npos) << b.placement().reason;
  Buffer c = runtime.allocate(gpu(MiB));  // exactly fits
  EXPECT_EQ(c.mode(), MemoryMode::device);
  EXPECT_EQ(runtime.budget_used(MemoryMode::device), 3 * MiB);
  EXPECT_EQ(runtime.budget_view().device_free, 0u);
  EXPECT_EQ(f.device->live_bytes(), 3 * MiB);
  EXPECT_EQ(f.pinned->live_bytes(), 2 * MiB);
  // Memory is usable.
  std::memset(a.data(), 0xab, a.size());
  std::memset(b.data(), 0xcd, b.size());
}

TEST(Runtime, ADeviceThatRunsOutOfMemoryMakesSpillReResolve) {
  // The budget says there is room, the device itself has none: spill must still succeed.
  Fakes f = make_fakes(/*device_capacity=*/MiB);
  Runtime runtime(pcie(), f.resources());
  Buffer fits = runtime.allocate(gpu(MiB));
  EXPECT_EQ(fits.mode(), MemoryMode::device);
  Buffer spilled = runtime.allocate(gpu(MiB));
  EXPECT_EQ(spilled.mode(), MemoryMode::pinned_host);
  EXPECT_EQ(runtime.statistics(MemoryMode::device).failed_allocations, 1u);
}

TEST(Runtime, DeviceOnlyPastTheBudgetFailsWithOutOfBudget) {
  Fakes f = make_fakes();
  RuntimeOptions options;
  options.device_budget = MiB;
  options.policy = make_builtin_policy(BuiltinPolicy::device_only);
  Runtime runtime(pcie(), f.resources(), options);
  Buffer a = runtime.allocate(gpu(MiB));
  try {
    Buffer b = runtime.allocate(gpu(1));
    FAIL() << "device_only past its budget must fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::out_of_budget);
    EXPECT_NE(std::string(e.what()).find("budget"), std::string::npos) << e.what();
  }
  EXPECT_EQ(f.pinned->allocations(), 0u);
}

TEST(Runtime, ARefusingTierDoesNotLoopWhenThePolicyInsists) {
  // A policy that always answers "device" gets the device's error back after one re-resolution.
  Fakes f = make_fakes(/*device_capacity=*/KiB);
  std::atomic<int> calls{0};
  RuntimeOptions options;
  options.policy = make_policy([&](const PlacementRequest&, const Platform&, const BudgetView&) {
    ++calls;
    return Placement{};
  });
  Runtime runtime(pcie(), f.resources(), options);
  EXPECT_GHTIER_ERROR(Buffer b = runtime.allocate(gpu(MiB)), ErrorCode::out_of_memory);
  EXPECT_EQ(calls.load(), 2);
}

TEST(Runtime, BufferFreesOnDestructionMoveAndReset) {
  Fakes f = make_fakes();
  Runtime runtime(pcie(), f.resources());
  {
    Buffer a = runtime.allocate(gpu(4 * KiB, "first"));
    EXPECT_EQ(a.tag(), "first");
    EXPECT_EQ(a.size(), 4 * KiB);
    EXPECT_TRUE(a);
    Buffer b = std::move(a);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    EXPECT_EQ(a.data(), nullptr);
    EXPECT_EQ(a.size(), 0u);
    EXPECT_EQ(runtime.statistics(MemoryMode::device).current_allocations, 1u);
    Buffer c = runtime.allocate(gpu(8 * KiB));
    c = std::move(b);  // frees c's 8 KiB, takes b's 4 KiB
    EXPECT_EQ(runtime.statistics(MemoryMode::device).current_bytes, 4 * KiB);
    c.reset();
    EXPECT_FALSE(c);
    EXPECT_EQ(runtime.statistics(MemoryMode::device).current_bytes, 0u);
    c.reset();  // twice is harmless
  }
  const AllocationStatistics s = runtime.statistics(MemoryMode::device);
  EXPECT_EQ(s.current_bytes, 0u);
  EXPECT_EQ(s.total_allocations, 2u);
  EXPECT_EQ(s.peak_bytes, 12 * KiB);
  EXPECT_EQ(f.device->live_bytes(), 0u);
  EXPECT_EQ(f.device->bad_frees(), 0u);
}

TEST(Runtime, ABufferMayOutliveItsRuntime) {
  Fakes f = make_fakes();
  Buffer kept;
  {
    Runtime runtime(pcie(), f.resources());
    kept = runtime.allocate(gpu(MiB));
  }
  std::memset(kept.data(), 1, kept.size());
  EXPECT_EQ(f.device->live_bytes(), MiB);
  kept.reset();
  EXPECT_EQ(f.device->live_bytes(), 0u);
  EXPECT_EQ(f.device->bad_frees(), 0u);
}

TEST(Runtime, FindPlacementOfAndLiveAllocations) {
  Fakes f = make_fakes();
  Runtime runtime(pcie(), f.resources());
  Buffer a = runtime.allocate(gpu(MiB, "weights"));
  Buffer b = runtime.allocate({KiB, Accessor::cpu, AccessFrequency::cold, false, "log"});
  EXPECT_EQ(b.mode(), MemoryMode::system);
  const auto inner = runtime.find(static_cast<char*>(a.data()) + 1000);
  ASSERT_TRUE(inner.has_value());
  EXPECT_EQ(inner->base, a.data());
  EXPECT_EQ(inner->bytes, MiB);
  EXPECT_EQ(inner->tag, "weights");
  EXPECT_EQ(inner->mode, MemoryMode::device);
  const auto past_end = runtime.find(static_cast<char*>(a.data()) + MiB);
  EXPECT_TRUE(!past_end || past_end->base != a.data());
  int local = 0;
  EXPECT_FALSE(runtime.find(&local).has_value());
  const auto placement = runtime.placement_of(static_cast<char*>(b.data()) + 3);
  ASSERT_TRUE(placement.has_value());
  EXPECT_TRUE(placement->same_decision(b.placement()));
  EXPECT_EQ(runtime.live_allocations().size(), 2u);
  const AllocationLookup& lookup = runtime;  // what the transfer engine is given
  EXPECT_TRUE(lookup.find(b.data()).has_value());
  a.reset();
  EXPECT_EQ(runtime.live_allocations().size(), 1u);
  EXPECT_FALSE(runtime.placement_of(b.data()) == std::nullopt);
}

TEST(Runtime, BudgetsPerTier) {
  Fakes f = make_fakes();
  Runtime runtime(pcie(), f.resources());
  for (MemoryMode m : all_memory_modes) EXPECT_EQ(runtime.budget(m), unlimited_bytes);
  EXPECT_EQ(runtime.budget_view().device_free, unlimited_bytes);
  runtime.set_budget(MemoryMode::pinned_host, 2 * MiB);
  runtime.set_budget(MemoryMode::device, 0);
  // Device budget 0: spill goes to pinned; pinned holds 2 MiB, then out_of_budget (spill has nowhere else).
  Buffer a = runtime.allocate(gpu(2 * MiB));
  EXPECT_EQ(a.mode(), MemoryMode::pinned_host);
  EXPECT_EQ(runtime.budget_used(MemoryMode::pinned_host), 2 * MiB);
  EXPECT_EQ(runtime.budget_view().pinned_host_free, 0u);
  EXPECT_GHTIER_ERROR(Buffer b = runtime.allocate(gpu(1)), ErrorCode::out_of_budget);
  runtime.set_budget(MemoryMode::device, unlimited_bytes);
  Buffer c = runtime.allocate(gpu(1));
  EXPECT_EQ(c.mode(), MemoryMode::device);
  EXPECT_GHTIER_ERROR(runtime.set_budget(static_cast<MemoryMode>(9), 1), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)runtime.budget(static_cast<MemoryMode>(-1)), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)runtime.statistics(static_cast<MemoryMode>(4)), ErrorCode::invalid_argument);
}

TEST(Runtime, AllocateInAndArgumentErrors) {
  Fakes f = make_fakes();
  Runtime runtime(pcie(), f.resources());
  Buffer m = runtime.allocate_in(MemoryMode::managed, 3 * KiB, nullptr, "direct");
  EXPECT_EQ(m.mode(), MemoryMode::managed);
  EXPECT_EQ(m.tag(), "direct");
  EXPECT_EQ(f.managed->live_bytes(), 3 * KiB);
  EXPECT_GHTIER_ERROR(Buffer b = runtime.allocate_in(MemoryMode::device, 0), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(Buffer b = runtime.allocate_in(static_cast<MemoryMode>(12), 1), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(Buffer b = runtime.allocate(gpu(0)), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(Buffer b = runtime.allocate(gpu(max_request_bytes + 1)), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(runtime.set_policy(nullptr), ErrorCode::invalid_argument);
}

TEST(Runtime, ResourcesMustMatchTheirModeAndMissingModesAreUnsupported) {
  auto wrong = std::make_shared<FakeResource>(MemoryMode::managed);
  RuntimeResources r;
  r.device = wrong;
  EXPECT_GHTIER_ERROR(Runtime(pcie(), r), ErrorCode::invalid_argument);
  RuntimeResources only_device;
  only_device.device = std::make_shared<FakeResource>(MemoryMode::device);
  Runtime runtime(pcie(), only_device);
  EXPECT_TRUE(runtime.has_mode(MemoryMode::device));
  EXPECT_FALSE(runtime.has_mode(MemoryMode::pinned_host));
  EXPECT_FALSE(runtime.offline());
  runtime.set_budget(MemoryMode::device, 0);
  try {
    Buffer b = runtime.allocate(gpu(KiB));  // spills to pinned, which this runtime lacks
    FAIL() << "expected unsupported";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported);
    EXPECT_NE(std::string(e.what()).find("pinned_host"), std::string::npos) << e.what();
  }
}

TEST(Runtime, UserPolicyDecides) {
  Fakes f = make_fakes();
  Runtime runtime(pcie(), f.resources());
  runtime.set_policy(make_policy(
      [](const PlacementRequest& r, const Platform&, const BudgetView&) {
        Placement p;
        p.mode = r.tag == "pin" ? MemoryMode::pinned_host : MemoryMode::device;
        p.reason = "by tag";
        return p;
      },
      "by-tag"));
  EXPECT_EQ(runtime.policy()->name(), "by-tag");
  EXPECT_EQ(runtime.resolve(gpu(KiB, "pin")).mode, MemoryMode::pinned_host);
  Buffer a = runtime.allocate(gpu(KiB, "pin"));
  Buffer b = runtime.allocate(gpu(KiB, "other"));
  EXPECT_EQ(a.mode(), MemoryMode::pinned_host);
  EXPECT_EQ(b.mode(), MemoryMode::device);
  EXPECT_EQ(a.placement().reason, "by tag");
}

// Everything a pointer-stable operation checks before it calls CUDA.
TEST(Runtime, PrefetchAdviseAndResidencyCheckTheirArguments) {
  Fakes f = make_fakes();
  Runtime runtime(pcie(), f.resources());
  Buffer device = runtime.allocate(gpu(MiB));
  Buffer pinned = runtime.allocate_in(MemoryMode::pinned_host, MiB);
  Buffer system = runtime.allocate_in(MemoryMode::system, MiB);
  int local = 0;
  // Device and pinned memory cannot be prefetched or advised; system memory cannot on plain PCIe.
  for (const Buffer* b : {&device, &pinned, &system}) {
    EXPECT_GHTIER_ERROR(runtime.prefetch(*b, Location::device), ErrorCode::unsupported);
    EXPECT_GHTIER_ERROR(runtime.advise(*b, Advice::set_read_mostly), ErrorCode::unsupported);
  }
  EXPECT_GHTIER_ERROR(runtime.prefetch(&local, 4, Location::device), ErrorCode::not_found);
  EXPECT_GHTIER_ERROR(runtime.prefetch(nullptr, 4, Location::device), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(runtime.prefetch(device.data(), 0, Location::device), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(runtime.prefetch(device.data(), MiB + 1, Location::device), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(runtime.prefetch(static_cast<char*>(device.data()) + 1, MiB, Location::device),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(runtime.prefetch(device, Location::none), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(runtime.advise(device, static_cast<Advice>(40)), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(runtime.advise(device, Advice::set_preferred_location, Location::none),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)runtime.residency(&local, 4), ErrorCode::not_found);
  EXPECT_GHTIER_ERROR((void)runtime.residency(device.data(), 2 * MiB), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(ScopedAdvice(runtime, &local, 4, read_mostly_phase()), ErrorCode::not_found);
  EXPECT_GHTIER_ERROR(ScopedAdvice(runtime, device, read_mostly_phase()), ErrorCode::unsupported);
  EXPECT_GHTIER_ERROR(Buffer b = runtime.relocate_to(Buffer{}, MemoryMode::device), ErrorCode::invalid_argument);
}

TEST(Runtime, ResidencyOfDevicePinnedAndSystemMemory) {
  Fakes f = make_fakes();
  Runtime runtime(pcie(), f.resources());
  Buffer device = runtime.allocate(gpu(MiB));
  const Residency d = runtime.residency(device);
  EXPECT_EQ(d.where, ResidencyKind::device);
  EXPECT_EQ(d.device_bytes, MiB);
  EXPECT_EQ(d.source, ResidencySource::allocation_mode);
  EXPECT_FALSE(d.approximate());

  Buffer pinned = runtime.allocate_in(MemoryMode::pinned_host, MiB);
  std::memset(pinned.data(), 1, pinned.size());
  const Residency p = runtime.residency(pinned);
  EXPECT_EQ(p.where, ResidencyKind::host);
  EXPECT_EQ(p.host_bytes, MiB);
  EXPECT_GE(p.numa_node, 0);  // touched memory: the kernel names its node

  // System memory (the fake maps it untouched): nothing populated, then half, then all.
  const std::size_t page = 4096;
  Buffer system = runtime.allocate_in(MemoryMode::system, 64 * page);
  const Residency none = runtime.residency(system);
  EXPECT_EQ(none.where, ResidencyKind::not_populated);
  EXPECT_EQ(none.unknown_bytes, 64 * page);
  EXPECT_EQ(none.source, ResidencySource::page_query);
  std::memset(system.data(), 7, 32 * page);
  const Residency half = runtime.residency(system);
  EXPECT_EQ(half.where, ResidencyKind::host);
  EXPECT_EQ(half.host_bytes, 32 * page);
  EXPECT_EQ(half.unknown_bytes, 32 * page);
  const Residency sub = runtime.residency(static_cast<char*>(system.data()) + 100, 10 * page);
  EXPECT_EQ(sub.host_bytes, 10 * page);
}

TEST(Runtime, BudgetsAndSpillHoldUnder16Threads) {
  Fakes f = make_fakes();
  RuntimeOptions options;
  constexpr std::size_t budget = MiB;
  options.device_budget = budget;
  Runtime runtime(pcie(), f.resources(), options);
  std::atomic<int> failures{0};
  std::atomic<int> spilled{0};
  std::atomic<int> corrupt{0};
  std::mt19937_64 seed_rng = ghtier::test::fresh_rng();
  std::vector<std::uint64_t> seeds;
  for (int t = 0; t < 16; ++t) seeds.push_back(seed_rng());
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seeds[static_cast<std::size_t>(t)]);
      std::vector<Buffer> held;
      for (int i = 0; i < 400; ++i) {
        if (!held.empty() && rng() % 3 == 0) {
          const std::size_t k = rng() % held.size();
          const auto* bytes = static_cast<const unsigned char*>(held[k].data());
          if (bytes[0] != static_cast<unsigned char>(t) || bytes[held[k].size() - 1] != static_cast<unsigned char>(t)) {
            ++corrupt;
          }
          held.erase(held.begin() + static_cast<std::ptrdiff_t>(k));
          continue;
        }
        const std::size_t bytes = 1 + rng() % (64 * KiB);
        try {
          Buffer b = runtime.allocate(gpu(bytes));
          if (b.mode() != MemoryMode::device) ++spilled;
          auto* p = static_cast<unsigned char*>(b.data());
          p[0] = p[bytes - 1] = static_cast<unsigned char>(t);
          held.push_back(std::move(b));
        } catch (const Error&) {
          ++failures;
        }
        if (runtime.budget_used(MemoryMode::device) > budget) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(corrupt.load(), 0);
  EXPECT_GT(spilled.load(), 0) << "the budget was never reached: the test did not test spilling";
  EXPECT_LE(f.device->high_water(), budget);
  EXPECT_EQ(f.device->live_bytes(), 0u);
  EXPECT_EQ(f.pinned->live_bytes(), 0u);
  EXPECT_EQ(runtime.statistics(MemoryMode::device).current_bytes, 0u);
  EXPECT_EQ(runtime.budget_used(MemoryMode::device), 0u);
  EXPECT_LE(runtime.statistics(MemoryMode::device).peak_bytes, budget);
  EXPECT_EQ(f.device->bad_frees() + f.pinned->bad_frees(), 0u);
}

TEST(RuntimeOffline, ResolvesKeepsBudgetsAndRefusesToTouchMemory) {
  RuntimeOptions options;
  options.assumed_profile = "gh200";
  options.device_budget = 16 * MiB;
  Runtime runtime(options);
  EXPECT_TRUE(runtime.offline());
  EXPECT_EQ(runtime.platform().platform_class, PlatformClass::coherent_c2c);
  EXPECT_EQ(runtime.resolve(gpu(8 * MiB)).mode, MemoryMode::device);
  const Placement spilled = runtime.resolve(gpu(32 * MiB));
  EXPECT_EQ(spilled.mode, MemoryMode::system);
  EXPECT_EQ(spilled.preferred_location, Location::host);
  runtime.set_budget(MemoryMode::device, 64 * MiB);
  EXPECT_EQ(runtime.resolve(gpu(32 * MiB)).mode, MemoryMode::device);
  EXPECT_EQ(runtime.statistics(MemoryMode::device).current_bytes, 0u);
  for (MemoryMode m : all_memory_modes) EXPECT_FALSE(runtime.has_mode(m));
  try {
    Buffer b = runtime.allocate(gpu(KiB));
    FAIL() << "an offline runtime must not allocate";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported);
    EXPECT_NE(std::string(e.what()).find("offline"), std::string::npos) << e.what();
  }
  int local = 0;
  EXPECT_GHTIER_ERROR(runtime.prefetch(&local, 4, Location::device), ErrorCode::unsupported);
  EXPECT_GHTIER_ERROR(runtime.advise(&local, 4, Advice::set_read_mostly), ErrorCode::unsupported);
  EXPECT_GHTIER_ERROR((void)runtime.residency(&local, 4), ErrorCode::unsupported);
  EXPECT_GHTIER_ERROR(Buffer b = runtime.allocate_in(MemoryMode::system, 4), ErrorCode::unsupported);
  EXPECT_GHTIER_ERROR(ScopedAdvice(runtime, &local, 4, read_mostly_phase()), ErrorCode::unsupported);

  RuntimeOptions unknown;
  unknown.assumed_profile = "gh300";
  EXPECT_GHTIER_ERROR(Runtime{unknown}, ErrorCode::not_found);
}

TEST(RuntimeNoGpu, CreatingARuntimeWithoutAGpuSaysSo) {
  if (visible_device_count() > 0) GTEST_SKIP() << "a GPU is visible: this checks the no-GPU error";
  try {
    Runtime runtime;
    FAIL() << "a runtime needs a GPU";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::no_device);
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("assumed_profile"), std::string::npos) << e.what();
  }
}
