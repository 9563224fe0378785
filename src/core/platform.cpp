// Classification: device attributes -> Platform. Pure, so GH200 paths are tested without a GH200.
#include "ghtier/platform.hpp"

#include <utility>

namespace ghtier {

std::string_view to_string(HostAccess access) noexcept {
  switch (access) {
    case HostAccess::none: return "none";
    case HostAccess::hmm: return "hmm";
    case HostAccess::ats: return "ats";
  }
  return "unknown";
}

std::string_view to_string(PlatformClass platform_class) noexcept {
  switch (platform_class) {
    case PlatformClass::coherent_c2c: return "coherent-c2c";
    case PlatformClass::hmm_pcie: return "hmm-pcie";
    case PlatformClass::pcie: return "pcie";
  }
  return "unknown";
}

namespace {
HostAccess host_access_of(const DeviceAttributes& a) noexcept {
  if (!a.pageable_memory_access) return HostAccess::none;
  return a.pageable_memory_access_uses_host_page_tables ? HostAccess::ats : HostAccess::hmm;
}

// The profile whose link figures are the best default for a class, until calibrate() measures the device.
std::string_view default_profile_for(PlatformClass platform_class) noexcept {
  switch (platform_class) {
    case PlatformClass::coherent_c2c: return "gh200";
    case PlatformClass::hmm_pcie: return "x86-h100-hmm";
    case PlatformClass::pcie: return "x86-h100-pcie";
  }
  return "x86-h100-pcie";
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
