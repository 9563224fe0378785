// Tier policies beyond the table: request validation, user policies (callable and subclass), the checks
// resolve() makes on a policy's answer, names, descriptions, and platforms without page migration.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "ghtier/policy/builtin_policy.hpp"
#include "ghtier/policy/tier_placements.hpp"
#include "test_support.hpp"

using namespace ghtier;

namespace {
constexpr std::size_t MiB = std::size_t{1} << 20;

PlacementRequest gpu_request(std::size_t bytes) { return {bytes, Accessor::gpu, AccessFrequency::hot, false, "t"}; }

// A platform whose managed memory does not migrate (no concurrent managed access): advice is meaningless.
Platform platform_without_migration(const char* profile) {
  DeviceAttributes a = platform_profile(profile).attributes;
  a.concurrent_managed_access = false;
  return classify(a);
}
}  // namespace

TEST(PlacementRequest, ValidateNamesTheBadField) {
  const Platform pcie = assume_platform("x86-h100-pcie");
  const auto policy = make_builtin_policy(BuiltinPolicy::spill);
  try {
    (void)policy->resolve(gpu_request(0), pcie, {});
    FAIL() << "zero bytes must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("bytes"), std::string::npos) << e.what();
  }
  PlacementRequest bad_accessor = gpu_request(1);
  bad_accessor.accessor = static_cast<Accessor>(7);
  try {
    validate(bad_accessor);
    FAIL() << "an accessor outside the enum must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("accessor 7"), std::string::npos) << e.what();
  }
  PlacementRequest bad_frequency = gpu_request(1);
  bad_frequency.frequency = static_cast<AccessFrequency>(-1);
  EXPECT_GHTIER_ERROR(validate(bad_frequency), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)policy->resolve(bad_frequency, pcie, {}), ErrorCode::invalid_argument);
  EXPECT_NO_THROW(validate(gpu_request(1)));
}

TEST(TierPolicy, CallablePolicyIsAskedAndItsReasonDefaultsToItsName) {
  std::atomic<int> calls{0};
  const auto policy = make_policy(
      [&](const PlacementRequest& r, const Platform&, const BudgetView& b) {
        ++calls;
        Placement p;
        p.mode = r.bytes > b.device_free ? MemoryMode::pinned_host : MemoryMode::device;
        return p;  // no reason: resolve() fills in the name
      },
      "mine");
  EXPECT_EQ(policy->name(), "mine");
  const Platform pcie = assume_platform("x86-h100-pcie");
  const Placement small = policy->resolve(gpu_request(MiB), pcie, BudgetView{2 * MiB});
  const Placement big = policy->resolve(gpu_request(4 * MiB), pcie, BudgetView{2 * MiB});
  EXPECT_EQ(small.mode, MemoryMode::device);
  EXPECT_EQ(big.mode, MemoryMode::pinned_host);
  EXPECT_EQ(small.reason, "mine");
  EXPECT_EQ(calls.load(), 2);
  // A bad request never reaches the policy.
  EXPECT_GHTIER_ERROR((void)policy->resolve(gpu_request(0), pcie, {}), ErrorCode::invalid_argument);
  EXPECT_EQ(calls.load(), 2);
}

TEST(TierPolicy, MakePolicyRefusesEmptyFunctionsAndNames) {
  EXPECT_GHTIER_ERROR((void)make_policy(PolicyFunction{}), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(
      (void)make_policy([](const PlacementRequest&, const Platform&, const BudgetView&) { return Placement{}; }, ""),
      ErrorCode::invalid_argument);
}

TEST(TierPolicy, ExceptionsOfAUserPolicyPassThrough) {
  const auto policy = make_policy([](const PlacementRequest&, const Platform&, const BudgetView&) -> Placement {
    throw OutOfBudgetError("no room anywhere");
  });
  EXPECT_GHTIER_ERROR((void)policy->resolve(gpu_request(1), assume_platform("gh200"), {}), ErrorCode::out_of_budget);
}

namespace {
// A subclass policy: tagged data to the host tier, the rest as spill decides.
class TagPolicy final : public TierPolicy {
 private:
  Placement do_resolve(const PlacementRequest& r, const Platform& platform, const BudgetView& b) const override {
    if (r.tag == "embedding") return host_tier(platform);
    return spill_.resolve(r, platform, b);
  }
  [[nodiscard]] std::string_view do_name() const noexcept override { return "tag"; }
  SpillPolicy spill_;
};
}  // namespace

TEST(TierPolicy, SubclassPolicyComposesTheTierBlocks) {
  TagPolicy policy;
  const Platform gh200 = assume_platform("gh200");
  PlacementRequest r = gpu_request(MiB);
  r.tag = "embedding";
  const Placement p = policy.resolve(r, gh200, {});
  EXPECT_EQ(p.mode, MemoryMode::system);
  EXPECT_EQ(p.preferred_location, Location::host);
  r.tag = "weights";
  EXPECT_EQ(policy.resolve(r, gh200, {}).mode, MemoryMode::device);
}

TEST(TierPolicy, AdviceOnAModeTheDriverCannotMoveIsRefused) {
  const Platform pcie = assume_platform("x86-h100-pcie");
  std::vector<Placement> bad;
  Placement pinned_with_preference;
  pinned_with_preference.mode = MemoryMode::pinned_host;
  pinned_with_preference.preferred_location = Location::host;
  bad.push_back(pinned_with_preference);
  Placement device_prefetch;
  device_prefetch.mode = MemoryMode::device;
  device_prefetch.prefetch_to_gpu_now = true;
  bad.push_back(device_prefetch);
  Placement system_on_pcie;  // no pageable access: cudaMemAdvise does not apply to malloc memory there
  system_on_pcie.mode = MemoryMode::system;
  system_on_pcie.accessed_by.gpu = true;
  bad.push_back(system_on_pcie);
  Placement read_mostly_device;
  read_mostly_device.read_mostly = true;
  bad.push_back(read_mostly_device);
  for (const Placement& answer : bad) {
    const auto policy =
        make_policy([answer](const PlacementRequest&, const Platform&, const BudgetView&) { return answer; }, "bad");
    try {
      (void)policy->resolve(gpu_request(MiB), pcie, {});
      ADD_FAILURE() << "accepted " << describe(answer);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      const std::string what = e.what();
      EXPECT_NE(what.find("policy 'bad'"), std::string::npos) << what;
      EXPECT_NE(what.find(std::string(to_string(answer.mode))), std::string::npos) << what;
      EXPECT_NE(what.find("pcie"), std::string::npos) << what;
    }
  }
  // The same advice on managed memory is fine.
  Placement managed = pinned_with_preference;
  managed.mode = MemoryMode::managed;
  const auto ok =
      make_policy([managed](const PlacementRequest&, const Platform&, const BudgetView&) { return managed; });
  EXPECT_EQ(ok->resolve(gpu_request(MiB), pcie, {}).preferred_location, Location::host);
}

TEST(TierPolicy, ValuesOutsideTheEnumsAreRefused) {
  Placement bad_mode;
  bad_mode.mode = static_cast<MemoryMode>(42);
  Placement bad_location;
  bad_location.mode = MemoryMode::managed;
  bad_location.preferred_location = static_cast<Location>(9);
  for (const Placement& answer : {bad_mode, bad_location}) {
    const auto policy =
        make_policy([answer](const PlacementRequest&, const Platform&, const BudgetView&) { return answer; });
    EXPECT_GHTIER_ERROR((void)policy->resolve(gpu_request(1), assume_platform("gh200"), {}),
                        ErrorCode::invalid_argument);
  }
}

TEST(BuiltinPolicies, NamesParseAndFactory) {
  for (BuiltinPolicy kind : all_builtin_policies) {
    EXPECT_EQ(parse_builtin_policy(to_string(kind)), kind);
    EXPECT_EQ(make_builtin_policy(kind)->name(), to_string(kind));
  }
  EXPECT_FALSE(parse_builtin_policy("spil").has_value());
  EXPECT_GHTIER_ERROR((void)make_builtin_policy(static_cast<BuiltinPolicy>(99)), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)make_builtin_policy(BuiltinPolicy::size_threshold, 0), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(SizeThresholdPolicy{0}, ErrorCode::invalid_argument);
  EXPECT_EQ(SizeThresholdPolicy{}.threshold_bytes(), 64 * MiB);
  EXPECT_EQ(SizeThresholdPolicy{5}.threshold_bytes(), 5u);
}

TEST(PlacementNames, RoundTripAndRefuseJunk) {
  for (Location l : {Location::none, Location::device, Location::host}) EXPECT_EQ(parse_location(to_string(l)), l);
  for (Accessor a : {Accessor::gpu, Accessor::cpu, Accessor::both}) EXPECT_EQ(parse_accessor(to_string(a)), a);
  for (AccessFrequency f :
       {AccessFrequency::hot, AccessFrequency::warm, AccessFrequency::cold, AccessFrequency::streamed_once}) {
    EXPECT_EQ(parse_access_frequency(to_string(f)), f);
  }
  EXPECT_FALSE(parse_location("gpu").has_value());
  EXPECT_FALSE(parse_accessor("GPU").has_value());
  EXPECT_FALSE(parse_access_frequency("").has_value());
  EXPECT_EQ(to_string(static_cast<Location>(17)), "unknown");
}

TEST(Placement, DescribeAndSameDecision) {
  Placement p;
  EXPECT_EQ(describe(p), "device");
  p.mode = MemoryMode::system;
  p.preferred_location = Location::host;
  p.accessed_by.gpu = true;
  EXPECT_EQ(describe(p), "system, prefer host, accessed by gpu");
  p.accessed_by.cpu = true;
  p.read_mostly = true;
  p.prefetch_to_gpu_now = true;
  EXPECT_EQ(describe(p), "system, prefer host, accessed by gpu+cpu, read-mostly, prefetch to gpu");
  Placement q = p;
  q.reason = "other words";
  EXPECT_TRUE(p.same_decision(q));
  q.read_mostly = false;
  EXPECT_FALSE(p.same_decision(q));
}

TEST(BudgetView, FreeInEachTier) {
  BudgetView b;
  for (MemoryMode m : all_memory_modes) EXPECT_EQ(b.free_in(m), unlimited_bytes);
  std::size_t value = 10;
  for (MemoryMode m : all_memory_modes) b.set_free_in(m, value++);
  EXPECT_EQ(b.device_free, 10u);
  EXPECT_EQ(b.pinned_host_free, 11u);
  EXPECT_EQ(b.managed_free, 12u);
  EXPECT_EQ(b.system_free, 13u);
  EXPECT_EQ(b.free_in(MemoryMode::system), 13u);
}

// Where managed memory does not migrate, the migrating tier carries no advice and unified still resolves.
TEST(TierPlacements, NoAdviceWithoutPageMigration) {
  for (const char* profile : {"gh200", "x86-h100-hmm", "x86-h100-pcie"}) {
    const Platform platform = platform_without_migration(profile);
    for (Accessor a : {Accessor::gpu, Accessor::cpu, Accessor::both}) {
      const Placement p =
          make_builtin_policy(BuiltinPolicy::unified)->resolve({MiB, a, AccessFrequency::hot, true, ""}, platform, {});
      EXPECT_EQ(p.preferred_location, Location::none) << profile;
      EXPECT_FALSE(p.accessed_by.any()) << profile;
      EXPECT_FALSE(p.read_mostly) << profile;
      EXPECT_FALSE(p.prefetch_to_gpu_now) << profile;
      const Placement host = make_builtin_policy(BuiltinPolicy::host_cache)
                                 ->resolve({MiB, Accessor::gpu, AccessFrequency::hot, false, ""}, platform, {});
      EXPECT_FALSE(host.accessed_by.any()) << profile;
      EXPECT_EQ(host.preferred_location, Location::none) << profile;
    }
  }
}

// Policies are called from many threads at once: the answers must not depend on interleaving.
TEST(TierPolicy, ResolveIsThreadSafe) {
  const Platform gh200 = assume_platform("gh200");
  std::vector<std::shared_ptr<const TierPolicy>> policies;
  for (BuiltinPolicy kind : all_builtin_policies) policies.push_back(make_builtin_policy(kind));
  std::vector<Placement> expected;
  const PlacementRequest request{3 * MiB, Accessor::both, AccessFrequency::warm, true, "x"};
  for (const auto& p : policies) expected.push_back(p->resolve(request, gh200, BudgetView{MiB}));
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        const std::size_t k = static_cast<std::size_t>(i) % policies.size();
        if (!policies[k]->resolve(request, gh200, BudgetView{MiB}).same_decision(expected[k])) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}
