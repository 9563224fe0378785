// Classification: device attributes -> Platform. Pure, so GH200 paths are tested without a GH200.
#include "ghtier/platform/platform.hpp"

#include <utility>

#include "core/support/enum_names.hpp"

namespace ghtier {

constexpr detail::EnumName<HostAccess> host_access_names[] = {
    {HostAccess::none, "none"},
    {HostAccess::hmm, "hmm"},
    {HostAccess::ats, "ats"},
};
static_assert(detail::enum_names_complete(host_access_names, HostAccess::none, HostAccess::ats));

std::string_view to_string(HostAccess access) noexcept { return detail::enum_to_string(host_access_names, access); }

constexpr detail::EnumName<PlatformClass> platform_class_names[] = {
    {PlatformClass::coherent_c2c, "coherent-c2c"},
    {PlatformClass::hmm_pcie, "hmm-pcie"},
    {PlatformClass::pcie, "pcie"},
};
static_assert(detail::enum_names_complete(platform_class_names, PlatformClass::coherent_c2c, PlatformClass::pcie));

std::string_view to_string(PlatformClass platform_class) noexcept {
  return detail::enum_to_string(platform_class_names, platform_class);
}

namespace {
HostAccess host_access_of(const DeviceAttributes& a) noexcept {
  if (!a.pageable_memory_access) return HostAccess::none;
  return a.pageable_memory_access_uses_host_page_tables ? HostAccess::ats : HostAccess::hmm;
}

// The profile whose link figures are the best default for a class, until calibrate() measures the device.
std::string_view default_profile_for(PlatformClass platform_class) noexcept {
  switch (platform_class) {
    case PlatformClass::coherent_c2c: return "gh200-c2c";
    case PlatformClass::hmm_pcie: return "pcie-gen5-hmm";
    case PlatformClass::pcie: return "pcie-gen5";
  }
  return "pcie-gen5";
}
}  // namespace

Platform classify(const DeviceAttributes& attributes, LinkModel link) {
  Platform p;
  p.attributes = attributes;
  p.host_access = host_access_of(attributes);
  p.coherent = attributes.host_native_atomic_supported;
  // ATS without coherent atomics (e.g. Power9 + V100 over NVLink 2) still reads pageable memory directly;
  // we class it with GH200 since the same mechanisms apply, and say so in docs/platforms.md.
  if (p.host_access == HostAccess::ats) {
    p.platform_class = PlatformClass::coherent_c2c;
  } else if (p.host_access == HostAccess::hmm) {
    p.platform_class = PlatformClass::hmm_pcie;
  } else {
    p.platform_class = PlatformClass::pcie;
  }
  p.managed_migrates = attributes.concurrent_managed_access;
  p.gpu_reads_pageable = attributes.pageable_memory_access;
  p.link = std::move(link);
  return p;
}

Platform classify(const DeviceAttributes& attributes) {
  Platform p = classify(attributes, LinkModel{});
  p.link = platform_profile(default_profile_for(p.platform_class)).link;
  return p;
}

Platform assume_platform(std::string_view profile_name) {
  const PlatformProfile& profile = platform_profile(profile_name);
  return classify(profile.attributes, profile.link);
}

Platform detect_platform(int device) { return classify(query_device_attributes(device)); }

}  // namespace ghtier
