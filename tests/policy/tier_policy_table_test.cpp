// The full resolution table: every built-in policy x every request kind (accessor x frequency x read-mostly,
// sizes around the threshold, device budgets around the size) x the three platform profiles, checked
// against a reference written here from the issue's text (not by calling the tier helpers under test).
#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ghtier/platform/platform.hpp"
#include "ghtier/policy/builtin_policy.hpp"
#include "test_support.hpp"

using namespace ghtier;

namespace {

constexpr std::size_t KiB = std::size_t{1} << 10;
constexpr std::size_t MiB = std::size_t{1} << 20;
constexpr std::size_t GiB = std::size_t{1} << 30;

// What the reference expects; compared field by field with a Placement.
struct Expected {
  MemoryMode mode = MemoryMode::device;
  Location preferred = Location::none;
  bool accessed_by_gpu = false;
  bool accessed_by_cpu = false;
  bool read_mostly = false;
  bool prefetch = false;
};

enum class Profile { gh200, hmm, pcie };
constexpr std::array<Profile, 3> all_profiles{Profile::gh200, Profile::hmm, Profile::pcie};
const char* profile_name(Profile p) {
  switch (p) {
    case Profile::gh200: return "gh200";
    case Profile::hmm: return "x86-h100-hmm";
    case Profile::pcie: return "x86-h100-pcie";
  }
  return "?";
}

// The issue: "host cache (CPU memory used as a GPU-readable cache: on GH200, system memory with preferred
// location CPU and accessed-by GPU; on PCIe, pinned host memory)"; spill's host tier is the same.
Expected expected_host_tier(Profile profile) {
  if (profile == Profile::gh200) return {MemoryMode::system, Location::host, true, false, false, false};
  return {MemoryMode::pinned_host};
}

// Data only the CPU touches: plain system memory, nothing to advise.
Expected expected_cpu_only() { return {MemoryMode::system}; }

// "unified (migrate on demand: system memory on ATS, managed memory elsewhere)", advised from the request:
//   GPU only, hot      -> prefer device, prefetch now        GPU only, warm -> prefer device
//   CPU only           -> prefer host
//   cold / streamed    -> prefer host, accessed by GPU (read in place, never migrated for a rare touch)
//   both, hot or warm  -> no preference (pages follow the toucher)
//   read-mostly        -> advised when the GPU reads the data more than once (not streamed once)
Expected expected_migrating(Profile profile, Accessor accessor, AccessFrequency frequency, bool read_mostly) {
  Expected e;
  e.mode = profile == Profile::gh200 ? MemoryMode::system : MemoryMode::managed;
  const bool rare = frequency == AccessFrequency::cold || frequency == AccessFrequency::streamed_once;
  if (accessor == Accessor::cpu) {
    e.preferred = Location::host;
  } else if (rare) {
    e.preferred = Location::host;
    e.accessed_by_gpu = true;
  } else if (accessor == Accessor::gpu) {
    e.preferred = Location::device;
    e.prefetch = frequency == AccessFrequency::hot;
  }
  e.read_mostly = read_mostly && accessor != Accessor::cpu && frequency != AccessFrequency::streamed_once;
  return e;
}

struct Case {
  Profile profile;
  BuiltinPolicy policy;
  std::size_t threshold;
  Accessor accessor;
  AccessFrequency frequency;
  bool read_mostly;
  std::size_t bytes;
  std::size_t device_free;
};

Expected reference(const Case& c) {
  const Expected device{MemoryMode::device};
  switch (c.policy) {
    case BuiltinPolicy::device_only: return device;
    case BuiltinPolicy::spill:
      if (c.accessor == Accessor::cpu) return expected_cpu_only();
      if (c.accessor == Accessor::both) return expected_migrating(c.profile, c.accessor, c.frequency, c.read_mostly);
      return c.bytes <= c.device_free ? device : expected_host_tier(c.profile);
    case BuiltinPolicy::size_threshold:
      if (c.accessor == Accessor::cpu) return expected_cpu_only();
      if (c.bytes >= c.threshold) return expected_host_tier(c.profile);
      if (c.accessor == Accessor::gpu) return device;
      return expected_migrating(c.profile, c.accessor, c.frequency, c.read_mostly);
    case BuiltinPolicy::host_cache:
      return c.accessor == Accessor::cpu ? expected_cpu_only() : expected_host_tier(c.profile);
    case BuiltinPolicy::unified: return expected_migrating(c.profile, c.accessor, c.frequency, c.read_mostly);
  }
  ADD_FAILURE() << "unknown policy";
  return device;
}

std::string describe_case(const Case& c) {
  return fmt::format(
      "profile {} policy {} (threshold {}) accessor {} frequency {} read_mostly {} bytes {} "
      "device_free {}",
      profile_name(c.profile), to_string(c.policy), c.threshold, to_string(c.accessor), to_string(c.frequency),
      c.read_mostly, c.bytes, c.device_free);
}

}  // namespace

TEST(TierPolicyTable, EveryPolicyRequestAndProfileMatchesTheReference) {
  const std::array<Accessor, 3> accessors{Accessor::gpu, Accessor::cpu, Accessor::both};
  const std::array<AccessFrequency, 4> frequencies{AccessFrequency::hot, AccessFrequency::warm, AccessFrequency::cold,
                                                   AccessFrequency::streamed_once};
  const std::array<std::size_t, 8> sizes{1, 4 * KiB, MiB - 1, MiB, 64 * MiB - 1, 64 * MiB, 64 * MiB + 1, 4 * GiB};
  const std::array<std::size_t, 2> thresholds{default_size_threshold, MiB};
  std::size_t checked = 0;
  for (Profile profile : all_profiles) {
    const Platform platform = assume_platform(profile_name(profile));
    for (BuiltinPolicy policy_kind : all_builtin_policies) {
      for (std::size_t threshold : thresholds) {
        if (policy_kind != BuiltinPolicy::size_threshold && threshold != default_size_threshold) continue;
        const auto policy = make_builtin_policy(policy_kind, threshold);
        for (Accessor accessor : accessors) {
          for (AccessFrequency frequency : frequencies) {
            for (bool read_mostly : {false, true}) {
              for (std::size_t bytes : sizes) {
                const std::array<std::size_t, 6> budgets{unlimited_bytes, 0, bytes, bytes - 1, bytes + 1, 32 * MiB};
                for (std::size_t device_free : budgets) {
                  const Case c{profile, policy_kind, threshold, accessor, frequency, read_mostly, bytes, device_free};
                  PlacementRequest request{bytes, accessor, frequency, read_mostly, "table"};
                  // The other tiers' room must not change a built-in policy's answer.
                  BudgetView budget{device_free, 0, 0, 0};
                  const Placement got = policy->resolve(request, platform, budget);
                  const Expected want = reference(c);
                  const std::string where = describe_case(c) + " -> " + describe(got);
                  EXPECT_EQ(got.mode, want.mode) << where;
                  EXPECT_EQ(got.preferred_location, want.preferred) << where;
                  EXPECT_EQ(got.accessed_by.gpu, want.accessed_by_gpu) << where;
                  EXPECT_EQ(got.accessed_by.cpu, want.accessed_by_cpu) << where;
                  EXPECT_EQ(got.read_mostly, want.read_mostly) << where;
                  EXPECT_EQ(got.prefetch_to_gpu_now, want.prefetch) << where;
                  EXPECT_FALSE(got.reason.empty()) << where;
                  EXPECT_EQ(got.reason.rfind(std::string(to_string(policy_kind)) + ":", 0), 0u)
                      << "the reason starts with the policy's name: " << got.reason;
                  ++checked;
                }
              }
            }
          }
        }
      }
    }
  }
  // 3 profiles x (5 policies + 1 extra threshold) x 24 request kinds x 8 sizes x 6 budgets.
  EXPECT_EQ(checked, 3u * 6u * 24u * 8u * 6u);
}

// A few cells spelled out literally from the issue text, so that a shared misreading of the reference
// and the code cannot pass unnoticed.
TEST(TierPolicyTable, CellsTheIssueSpellsOut) {
  const Platform gh200 = assume_platform("gh200");
  const Platform pcie = assume_platform("x86-h100-pcie");
  const Platform hmm = assume_platform("x86-h100-hmm");
  const PlacementRequest big_gpu{GiB, Accessor::gpu, AccessFrequency::hot, false, ""};

  // spill past the budget: GH200 -> system memory, preferred CPU, accessed by GPU; PCIe -> pinned host.
  const auto spill = make_builtin_policy(BuiltinPolicy::spill);
  const Placement spilled_gh200 = spill->resolve(big_gpu, gh200, BudgetView{GiB - 1});
  EXPECT_EQ(spilled_gh200.mode, MemoryMode::system);
  EXPECT_EQ(spilled_gh200.preferred_location, Location::host);
  EXPECT_TRUE(spilled_gh200.accessed_by.gpu);
  EXPECT_EQ(spill->resolve(big_gpu, pcie, BudgetView{0}).mode, MemoryMode::pinned_host);
  EXPECT_EQ(spill->resolve(big_gpu, hmm, BudgetView{0}).mode, MemoryMode::pinned_host);
  EXPECT_EQ(spill->resolve(big_gpu, gh200, BudgetView{GiB}).mode, MemoryMode::device);

  // size threshold: at or above 64 MiB -> host tier.
  const auto threshold = make_builtin_policy(BuiltinPolicy::size_threshold);
  EXPECT_EQ(threshold->resolve({64 * MiB, Accessor::gpu, AccessFrequency::hot, false, ""}, pcie, {}).mode,
            MemoryMode::pinned_host);
  EXPECT_EQ(threshold->resolve({64 * MiB - 1, Accessor::gpu, AccessFrequency::hot, false, ""}, pcie, {}).mode,
            MemoryMode::device);

  // unified: system memory on ATS, managed memory elsewhere.
  const auto unified = make_builtin_policy(BuiltinPolicy::unified);
  EXPECT_EQ(unified->resolve(big_gpu, gh200, {}).mode, MemoryMode::system);
  EXPECT_EQ(unified->resolve(big_gpu, hmm, {}).mode, MemoryMode::managed);
  EXPECT_EQ(unified->resolve(big_gpu, pcie, {}).mode, MemoryMode::managed);

  // host cache: GH200 system + preferred CPU + accessed by GPU; PCIe pinned.
  const auto cache = make_builtin_policy(BuiltinPolicy::host_cache);
  const Placement cached = cache->resolve({MiB, Accessor::gpu, AccessFrequency::warm, true, ""}, gh200, {});
  EXPECT_EQ(cached.mode, MemoryMode::system);
  EXPECT_EQ(cached.preferred_location, Location::host);
  EXPECT_TRUE(cached.accessed_by.gpu);
  EXPECT_FALSE(cached.read_mostly);  // the GPU reads in place: no duplicate in HBM
  EXPECT_EQ(cache->resolve({MiB, Accessor::gpu, AccessFrequency::warm, true, ""}, pcie, {}).mode,
            MemoryMode::pinned_host);

  // device only, whatever the budget says.
  EXPECT_EQ(make_builtin_policy(BuiltinPolicy::device_only)->resolve(big_gpu, pcie, BudgetView{0}).mode,
            MemoryMode::device);
}

// The same request resolves differently on GH200 and on PCIe (the issue's point), for every policy that
// can leave HBM.
TEST(TierPolicyTable, PlatformsDiffer) {
  const PlacementRequest request{GiB, Accessor::gpu, AccessFrequency::cold, false, ""};
  for (BuiltinPolicy kind :
       {BuiltinPolicy::spill, BuiltinPolicy::size_threshold, BuiltinPolicy::host_cache, BuiltinPolicy::unified}) {
    const auto policy = make_builtin_policy(kind);
    const Placement on_gh200 = policy->resolve(request, assume_platform("gh200"), BudgetView{0});
    const Placement on_pcie = policy->resolve(request, assume_platform("x86-h100-pcie"), BudgetView{0});
    EXPECT_FALSE(on_gh200.same_decision(on_pcie)) << to_string(kind) << ": " << describe(on_gh200);
  }
}
