// Out of memory for real: HBM filled with plain cudaMalloc allocations (a small margin left for CUDA itself, all
// freed at the end even when a check fails), then allocations through each built-in policy. Where the policy
// spills (spill, host cache, size threshold above it, unified) the allocation lands in a host tier and its bytes
// work; where it does not (device only, size threshold below it, allocate_in(device)) the error is a clear
// out_of_memory. With the host tier at a small budget, a spill that does not fit is refused with a clear error
// too, within the budget. After each refusal the statistics are as before, and an allocation made before the
// fill keeps its bytes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fault_sweep.hpp"
#include "ghtier/policy/device_only_policy.hpp"
#include "ghtier/policy/host_cache_policy.hpp"
#include "ghtier/policy/size_threshold_policy.hpp"
#include "ghtier/policy/spill_policy.hpp"
#include "ghtier/policy/unified_policy.hpp"
#include "ghtier/runtime/runtime.hpp"
#include "test_support.hpp"

using namespace ghtier;
using namespace ghtier::test;

namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;
// What stays free in HBM: room for CUDA's own needs (events, launches), far below what the tests ask for.
constexpr std::size_t margin = 48 * MiB;
// Well above what stays free once plain cudaMalloc refuses even 2 MiB: 261 MiB stayed free on the H200 of the
// GPU machine (2026-12-03), so a 256 MiB request could still have fit.
constexpr std::size_t device_request = 1024 * MiB;

// Holds HBM full with cudaMalloc allocations; frees them when it goes, whatever happened in between.
class HbmFiller {
 public:
  HbmFiller() {
    for (std::size_t chunk = std::size_t{1} << 30; chunk >= 2 * MiB;) {
      void* p = nullptr;
      if (cudaMalloc(&p, chunk) == cudaSuccess) {
        held_.push_back({p, chunk});
      } else {
        (void)cudaGetLastError();
        chunk /= 2;
      }
    }
    // Give back the smallest pieces until the margin is free again.
    std::size_t free = 0;
    std::size_t total = 0;
    while (!held_.empty() && cudaMemGetInfo(&free, &total) == cudaSuccess && free < margin) {
      (void)cudaFree(held_.back().first);
      held_.pop_back();
    }
    std::printf("[ hbm      ] %zu MiB held in %zu allocations, %zu MiB free of %zu MiB\n", held_bytes() / MiB,
                held_.size(), free / MiB, total / MiB);
  }
  ~HbmFiller() {
    for (const auto& [p, bytes] : held_) (void)cudaFree(p);
  }
  HbmFiller(const HbmFiller&) = delete;
  HbmFiller& operator=(const HbmFiller&) = delete;

  [[nodiscard]] std::size_t held_bytes() const {
    std::size_t sum = 0;
    for (const auto& held : held_) sum += held.second;
    return sum;
  }
  [[nodiscard]] static std::size_t free_bytes() {
    std::size_t free = 0;
    std::size_t total = 0;
    (void)cudaMemGetInfo(&free, &total);
    return free;
  }

 private:
  std::vector<std::pair<void*, std::size_t>> held_;
};

class RealOom : public ::testing::Test {
 protected:
  void SetUp() override {
    GHTIER_REQUIRE_GPU();
    if (std::getenv("GHTIER_UNDER_SANITIZER") != nullptr) {
      GTEST_SKIP() << "compute-sanitizer needs device memory of its own: HBM is not filled under it";
    }
    if (detail::armed_fault_plan()) GTEST_SKIP() << "a plan from GHTIER_FAULT_INJECT is armed";
    rng_ = fresh_rng();
    // The runtime (its pools, streams) exists before HBM is full, as in a program that runs out later.
    runtime_ = std::make_unique<Runtime>();
    sentinel_.emplace(*runtime_, MemoryMode::device, 4 * MiB + 3, rng_);
  }
  void TearDown() override {
    if (runtime_) {
      EXPECT_TRUE(sentinel_->intact()) << "the allocation made before the fill lost its bytes";
    }
  }

  // allocate(request) under `policy`: lands outside HBM with usable bytes.
  void expect_spilled(std::shared_ptr<const TierPolicy> policy, std::size_t bytes, const std::string& what) {
    runtime_->set_policy(std::move(policy));
    PlacementRequest request;
    request.bytes = bytes;
    request.tag = what;
    try {
      Buffer b = runtime_->allocate(request);
      EXPECT_NE(b.mode(), MemoryMode::device) << what << ": HBM is full, yet the allocation is in it";
      const auto bytes_in = random_bytes(rng_, bytes);
      put_bytes(b.data(), bytes_in, b.mode());
      EXPECT_EQ(get_bytes(b.data(), bytes, b.mode()), bytes_in) << what;
      std::printf("[ spilled  ] %s: %s (%s)\n", what.c_str(), std::string(to_string(b.mode())).c_str(),
                  b.placement().reason.c_str());
    } catch (const Error& e) {
      ADD_FAILURE() << what << ": the policy should have spilled, but: " << e.what();
    }
  }

  // allocate(request) under `policy`: refused with `code` and a message that says so; statistics unchanged.
  void expect_refused(std::shared_ptr<const TierPolicy> policy, std::size_t bytes, ErrorCode code,
                      const std::string& what) {
    runtime_->set_policy(std::move(policy));
    PlacementRequest request;
    request.bytes = bytes;
    request.tag = what;
    const RuntimeSnapshot before = RuntimeSnapshot::of(*runtime_);
    try {
      Buffer b = runtime_->allocate(request);
      ADD_FAILURE() << what << ": allocated " << bytes << " bytes in " << to_string(b.mode()) << " ("
                    << b.placement().reason << ")";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << what << ": " << e.what();
      EXPECT_STRNE(e.what(), "") << what;
      std::printf("[ refused  ] %s: %s\n", what.c_str(), e.what());
    }
    SWEEP_CUDA(cudaDeviceSynchronize());
    EXPECT_EQ(RuntimeSnapshot::of(*runtime_), before) << what;
  }

  std::mt19937_64 rng_;
  std::unique_ptr<Runtime> runtime_;
  std::optional<Sentinel> sentinel_;
};

TEST_F(RealOom, EachPolicySpillsWhereItSaysAndRefusesClearlyWhereNot) {
  {
    HbmFiller filler;
    ASSERT_LT(HbmFiller::free_bytes(), device_request) << "HBM could not be filled";
    const AllocationStatistics device_before = runtime_->statistics(MemoryMode::device);

    // Directly in HBM: refused, out of memory.
    const RuntimeSnapshot before = RuntimeSnapshot::of(*runtime_);
    EXPECT_GHTIER_ERROR((void)runtime_->allocate_in(MemoryMode::device, device_request), ErrorCode::out_of_memory);
    EXPECT_EQ(RuntimeSnapshot::of(*runtime_), before);
    EXPECT_GT(runtime_->statistics(MemoryMode::device).failed_allocations, device_before.failed_allocations)
        << "the refusal was not counted";

    expect_spilled(std::make_shared<SpillPolicy>(), device_request, "spill policy");
    expect_spilled(std::make_shared<HostCachePolicy>(), device_request, "host cache policy");
    expect_spilled(std::make_shared<SizeThresholdPolicy>(128 * MiB), device_request,
                   "size threshold policy, above the threshold");
    if (runtime_->has_mode(MemoryMode::managed)) {
      expect_spilled(std::make_shared<UnifiedPolicy>(), device_request, "unified policy");
    }
    expect_refused(std::make_shared<DeviceOnlyPolicy>(), device_request, ErrorCode::out_of_memory,
                   "device only policy");
    expect_refused(std::make_shared<SizeThresholdPolicy>(4096 * MiB), device_request, ErrorCode::out_of_memory,
                   "size threshold policy, below the threshold");
    EXPECT_EQ(runtime_->statistics(MemoryMode::device).current_bytes, device_before.current_bytes);
  }
  // HBM given back: the same runtime allocates in it again.
  runtime_->set_policy(std::make_shared<SpillPolicy>());
  PlacementRequest request;
  request.bytes = device_request;
  Buffer b = runtime_->allocate(request);
  EXPECT_EQ(b.mode(), MemoryMode::device);
  const auto bytes_in = random_bytes(rng_, 1 * MiB);
  put_bytes(b.data(), bytes_in, MemoryMode::device);
  EXPECT_EQ(get_bytes(b.data(), bytes_in.size(), MemoryMode::device), bytes_in);
}

TEST_F(RealOom, TheHostTierAtItsBudgetRefusesTooClearly) {
  // The spill that fits must be too big for what HBM still has (the first GPU check asked 32 MiB and it
  // landed in HBM: 261 MiB stayed free, and the pool held reserve); the one past the budget bigger still.
  const std::size_t fits_the_host_budget = device_request + 5;
  const std::size_t host_budget = device_request + 512 * MiB;
  const std::size_t past_the_host_budget = 2 * device_request;
  runtime_->set_budget(MemoryMode::pinned_host, host_budget);
  HbmFiller filler;
  ASSERT_LT(HbmFiller::free_bytes(), device_request) << "HBM could not be filled";

  // What fits in the host budget spills into it.
  expect_spilled(std::make_shared<SpillPolicy>(), fits_the_host_budget, "spill policy, within the host budget");

  // What does not fit is refused with a clear error, or lands in a tier that has room; never past the budget.
  for (const auto& [policy, what] :
       {std::pair<std::shared_ptr<const TierPolicy>, std::string>{std::make_shared<SpillPolicy>(),
                                                                  "spill policy, past the host budget"},
        {std::make_shared<HostCachePolicy>(), "host cache policy, past the host budget"}}) {
    runtime_->set_policy(policy);
    PlacementRequest request;
    request.bytes = past_the_host_budget;
    request.tag = what;
    const RuntimeSnapshot before = RuntimeSnapshot::of(*runtime_);
    try {
      Buffer b = runtime_->allocate(request);
      EXPECT_NE(b.mode(), MemoryMode::device) << what;
      EXPECT_NE(b.mode(), MemoryMode::pinned_host) << what << ": allocated past the host budget";
      std::printf("[ landed   ] %s: %s\n", what.c_str(), std::string(to_string(b.mode())).c_str());
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == ErrorCode::out_of_budget || e.code() == ErrorCode::out_of_memory)
          << what << ": " << e.what();
      EXPECT_STRNE(e.what(), "");
      std::printf("[ refused  ] %s: %s\n", what.c_str(), e.what());
      SWEEP_CUDA(cudaDeviceSynchronize());
      EXPECT_EQ(RuntimeSnapshot::of(*runtime_), before) << what;
    }
    EXPECT_LE(runtime_->budget_used(MemoryMode::pinned_host), host_budget) << what;
  }
  // Directly in the host tier past its budget: out_of_budget.
  EXPECT_GHTIER_ERROR((void)runtime_->allocate_in(MemoryMode::pinned_host, past_the_host_budget),
                      ErrorCode::out_of_budget);
  EXPECT_LE(runtime_->budget_used(MemoryMode::pinned_host), host_budget);
}

}  // namespace
