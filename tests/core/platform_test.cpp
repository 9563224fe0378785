// Classification of the three platform families from their attribute sets (no GPU needed).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ghtier/memory/memory_mode.hpp"
#include "ghtier/platform/platform.hpp"
#include "test_support.hpp"

using namespace ghtier;

namespace {
// The x86 + H100 machine's attributes as measured there (docs/platforms.md), written out here independently
// of the profile.
DeviceAttributes measured_x86_h100() {
  DeviceAttributes a;
  a.name = "NVIDIA H100 80GB HBM3";
  a.compute_major = 9;
  a.sm_count = 132;
  a.pageable_memory_access = false;
  a.pageable_memory_access_uses_host_page_tables = false;
  a.concurrent_managed_access = true;
  a.direct_managed_mem_access_from_host = false;
  a.host_native_atomic_supported = false;
  a.async_engine_count = 3;
  a.host_numa_id = 0;
  return a;
}
}  // namespace

TEST(Platform, GpuMachineAttributesClassifyAsPlainPcie) {
  Platform p = classify(measured_x86_h100());
  EXPECT_EQ(p.platform_class, PlatformClass::pcie);
  EXPECT_EQ(p.host_access, HostAccess::none);
  EXPECT_FALSE(p.gpu_reads_pageable);
  EXPECT_FALSE(p.coherent);
  EXPECT_TRUE(p.managed_migrates);
  EXPECT_EQ(p.link.source, "profile pcie-gen5");
  EXPECT_DOUBLE_EQ(p.link.h2d_gbps, 55.0);
}

TEST(Platform, Gh200AttributesClassifyAsCoherentAts) {
  DeviceAttributes a = measured_x86_h100();
  a.pageable_memory_access = true;
  a.pageable_memory_access_uses_host_page_tables = true;
  a.host_native_atomic_supported = true;
  a.direct_managed_mem_access_from_host = true;
  Platform p = classify(a);
  EXPECT_EQ(p.platform_class, PlatformClass::coherent_c2c);
  EXPECT_EQ(p.host_access, HostAccess::ats);
  EXPECT_TRUE(p.coherent);
  EXPECT_TRUE(p.gpu_reads_pageable);
  EXPECT_GT(p.link.h2d_gbps, 300.0);  // C2C figures, not PCIe's
}

TEST(Platform, HmmAttributesClassifyAsHmm) {
  DeviceAttributes a = measured_x86_h100();
  a.pageable_memory_access = true;
  Platform p = classify(a);
  EXPECT_EQ(p.platform_class, PlatformClass::hmm_pcie);
  EXPECT_EQ(p.host_access, HostAccess::hmm);
  EXPECT_TRUE(p.gpu_reads_pageable);
  EXPECT_LT(p.link.h2d_gbps, 100.0);
}

TEST(Platform, ExplicitLinkModelIsKept) {
  LinkModel link = platform_profile("gh200").link;
  link.h2d_gbps = 123.0;
  link.source = "calibrated";
  Platform p = classify(measured_x86_h100(), link);
  EXPECT_DOUBLE_EQ(p.link.h2d_gbps, 123.0);
  EXPECT_EQ(p.link.source, "calibrated");
}

TEST(PlatformProfiles, EachProfileClassifiesAsItsName) {
  EXPECT_EQ(assume_platform("gh200").platform_class, PlatformClass::coherent_c2c);
  EXPECT_EQ(assume_platform("x86-h100-hmm").platform_class, PlatformClass::hmm_pcie);
  EXPECT_EQ(assume_platform("x86-h100-pcie").platform_class, PlatformClass::pcie);
  for (const PlatformProfile& profile : platform_profiles()) {
    EXPECT_NO_THROW(profile.link.validate()) << profile.name;
    EXPECT_FALSE(profile.description.empty());
  }
  // The x86 + H100 profile equals the measured attribute set in everything that classifies.
  const DeviceAttributes& pcie = platform_profile("x86-h100-pcie").attributes;
  const DeviceAttributes measured = measured_x86_h100();
  EXPECT_EQ(pcie.pageable_memory_access, measured.pageable_memory_access);
  EXPECT_EQ(pcie.concurrent_managed_access, measured.concurrent_managed_access);
  EXPECT_EQ(pcie.async_engine_count, measured.async_engine_count);
}

TEST(PlatformProfiles, NamedByLinkClassWithTheOldNamesAsAliases) {
  std::vector<std::string> names;
  for (const PlatformProfile& profile : platform_profiles()) names.emplace_back(profile.name);
  EXPECT_EQ(names, (std::vector<std::string>{"gh200-c2c", "pcie-gen5-hmm", "pcie-gen5"}));
  EXPECT_EQ(assume_platform("gh200-c2c").platform_class, PlatformClass::coherent_c2c);
  EXPECT_EQ(assume_platform("pcie-gen5-hmm").platform_class, PlatformClass::hmm_pcie);
  EXPECT_EQ(assume_platform("pcie-gen5").platform_class, PlatformClass::pcie);
  ASSERT_EQ(platform_profile_aliases().size(), 3u);
  for (const PlatformProfileAlias& alias : platform_profile_aliases()) {
    // An alias selects the very profile it names, which reports its current name.
    EXPECT_EQ(&platform_profile(alias.old_name), &platform_profile(alias.name)) << alias.old_name;
    EXPECT_EQ(platform_profile(alias.old_name).name, alias.name);
    EXPECT_NE(known_platform_profile_names().find(std::string(alias.old_name)), std::string::npos);
  }
  EXPECT_EQ(platform_profile("gh200").name, "gh200-c2c");
  EXPECT_EQ(platform_profile("x86-h100-hmm").name, "pcie-gen5-hmm");
  EXPECT_EQ(platform_profile("x86-h100-pcie").name, "pcie-gen5");
  // The class defaults use the new names.
  EXPECT_EQ(classify(platform_profile("gh200").attributes).link.source, "profile gh200-c2c");
  EXPECT_EQ(classify(platform_profile("x86-h100-hmm").attributes).link.source, "profile pcie-gen5-hmm");
  // Names are exact: no case folding, no partial match.
  EXPECT_GHTIER_ERROR((void)platform_profile("GH200"), ErrorCode::not_found);
  EXPECT_GHTIER_ERROR((void)platform_profile("pcie"), ErrorCode::not_found);
  EXPECT_GHTIER_ERROR((void)platform_profile(""), ErrorCode::not_found);
}

TEST(LinkFigures, NamesAndMembersMatchTheJsonKeys) {
  auto rng = test::fresh_rng();
  std::uniform_real_distribution<double> d(0.5, 5000.0);
  LinkModel link;
  for (LinkFigure f : all_link_figures) figure_of(link, f) = d(rng);
  const std::string json = to_json(link);
  for (LinkFigure f : all_link_figures) {
    // The figure's name is its JSON key, and the member it reaches is the one that key holds.
    const LinkModel back = link_model_from_json(json);
    EXPECT_EQ(figure_of(back, f), figure_of(link, f)) << to_string(f);
    EXPECT_NE(json.find("\"" + std::string(to_string(f)) + "\""), std::string::npos) << to_string(f);
  }
  EXPECT_EQ(figure_of(link, LinkFigure::h2d), link.h2d_gbps);
  EXPECT_EQ(figure_of(link, LinkFigure::sm_read), link.sm_read_gbps);
  EXPECT_EQ(figure_of(link, LinkFigure::latency), link.latency_us);
  EXPECT_EQ(to_string(LinkFigure::sm_write), "sm_write_gbps");
  // Each figure reaches a different member.
  for (LinkFigure f : all_link_figures) {
    LinkModel zero = link;
    figure_of(zero, f) = 0;
    int changed = 0;
    for (LinkFigure g : all_link_figures) changed += figure_of(zero, g) != figure_of(link, g) ? 1 : 0;
    EXPECT_EQ(changed, 1) << to_string(f);
  }
}

TEST(PlatformProfiles, UnknownProfileNamesTheKnownOnes) {
  try {
    (void)platform_profile("h100-on-mars");
    FAIL() << "expected not_found";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    EXPECT_NE(std::string(e.what()).find("gh200"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("h100-on-mars"), std::string::npos);
  }
}

TEST(MemoryMode, SystemMemoryIsGpuReachableOnlyWithPageableAccess) {
  EXPECT_TRUE(describe_mode(assume_platform("gh200"), MemoryMode::system).gpu_access);
  EXPECT_TRUE(describe_mode(assume_platform("x86-h100-hmm"), MemoryMode::system).gpu_access);
  EXPECT_FALSE(describe_mode(assume_platform("x86-h100-pcie"), MemoryMode::system).gpu_access);
  for (const PlatformProfile& profile : platform_profiles()) {
    Platform p = classify(profile.attributes, profile.link);
    EXPECT_TRUE(describe_mode(p, MemoryMode::pinned_host).gpu_access);
    EXPECT_TRUE(describe_mode(p, MemoryMode::pinned_host).cpu_access);
    EXPECT_FALSE(describe_mode(p, MemoryMode::device).cpu_access);
    EXPECT_TRUE(describe_mode(p, MemoryMode::managed).migrates);
  }
}

TEST(MemoryMode, MoveMechanismPerPlatform) {
  const Platform gh200 = assume_platform("gh200");
  const Platform hmm = assume_platform("x86-h100-hmm");
  const Platform pcie = assume_platform("x86-h100-pcie");
  // Pageable <-> device: direct over ATS, staged elsewhere.
  EXPECT_EQ(choose_move(gh200, MemoryMode::system, MemoryMode::device), MoveMechanism::copy_engine);
  EXPECT_EQ(choose_move(pcie, MemoryMode::system, MemoryMode::device), MoveMechanism::staged_copy);
  EXPECT_EQ(choose_move(pcie, MemoryMode::device, MemoryMode::system), MoveMechanism::staged_copy);
  EXPECT_EQ(choose_move(hmm, MemoryMode::device, MemoryMode::system), MoveMechanism::staged_copy);
  // Pinned <-> device: the copy engine everywhere.
  for (const Platform* p : {&gh200, &hmm, &pcie}) {
    EXPECT_EQ(choose_move(*p, MemoryMode::pinned_host, MemoryMode::device), MoveMechanism::copy_engine);
    EXPECT_EQ(choose_move(*p, MemoryMode::device, MemoryMode::pinned_host), MoveMechanism::copy_engine);
    EXPECT_EQ(choose_move(*p, MemoryMode::system, MemoryMode::pinned_host), MoveMechanism::host_copy);
    EXPECT_EQ(choose_move(*p, MemoryMode::managed, MemoryMode::device), MoveMechanism::copy_engine);
  }
  EXPECT_EQ(relocation_for(gh200, MemoryMode::system), Relocation::prefetch);
  EXPECT_EQ(relocation_for(pcie, MemoryMode::system), Relocation::none);
  EXPECT_EQ(relocation_for(pcie, MemoryMode::managed), Relocation::prefetch);
  EXPECT_EQ(relocation_for(pcie, MemoryMode::device), Relocation::none);
}

TEST(MemoryMode, NamesRoundTrip) {
  for (MemoryMode mode : all_memory_modes) EXPECT_EQ(parse_memory_mode(to_string(mode)), mode);
  EXPECT_EQ(parse_memory_mode("pinned"), MemoryMode::pinned_host);
  EXPECT_FALSE(parse_memory_mode("hbm4").has_value());
}
