// Built-in platform profiles, named by link class: attribute sets and link figures of the platforms ghtier
// targets. The names of the first profiles (one card each: gh200, x86-h100-*) stay as deprecated aliases.
// GH200 figures are the published ones (NVIDIA's GTC'24 Grace Hopper talk, nvbandwidth on GH200); x86 + H100
// figures were measured on an x86 Xeon + H100 80GB SXM over PCIe Gen5 (2026-11-28; docs/platforms.md).
#include <array>
#include <string>

#include <fmt/format.h>

#include "ghtier/error.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier {

namespace {

constexpr std::size_t GiB = std::size_t{1} << 30;

DeviceAttributes h100_base() {
  DeviceAttributes a;
  a.name = "NVIDIA H100 80GB HBM3";
  a.compute_major = 9;
  a.compute_minor = 0;
  a.sm_count = 132;
  a.hbm_bytes = 80 * GiB;
  a.l2_bytes = 50u << 20;
  a.async_engine_count = 3;
  a.concurrent_managed_access = true;
  a.can_use_host_pointer_for_registered_mem = true;
  a.host_register_supported = true;
  a.memory_pools_supported = true;
  a.host_numa_id = 0;
  return a;
}

DeviceAttributes gh200_attributes() {
  DeviceAttributes a = h100_base();
  a.name = "NVIDIA GH200 480GB";
  a.hbm_bytes = 96 * GiB;
  a.async_engine_count = 4;
  a.pageable_memory_access = true;
  a.pageable_memory_access_uses_host_page_tables = true;
  a.direct_managed_mem_access_from_host = true;
  a.host_native_atomic_supported = true;
  a.host_numa_id = 0;
  a.numa_id = 1;  // the HBM is NUMA node 1 of the superchip's OS
  return a;
}

DeviceAttributes x86_h100_hmm_attributes() {
  DeviceAttributes a = h100_base();
  a.pageable_memory_access = true;  // HMM: pageable access, but not through the host page tables
  return a;
}

LinkModel gh200_link() {
  LinkModel l;
  l.h2d_gbps = 381.7;  // cudaMemcpy pinned, the talk
  l.d2h_gbps = 297.7;
  l.bidirectional_gbps = 340.0;  // both at once: each direction gets about half (published leads)
  l.sm_read_gbps = 339.0;        // a kernel reading CPU memory in place
  l.sm_write_gbps = 328.0;
  l.pageable_h2d_gbps = 381.0;  // pageable runs at the pinned rate over ATS
  l.pageable_d2h_gbps = 295.8;
  l.hbm_gbps = 3400.0;  // STREAM on the 96 GB HBM3 part
  l.latency_us = 1.0;   // estimate: not published; calibrate() measures it
  l.source = "profile gh200-c2c";
  return l;
}

LinkModel x86_h100_link(const char* source) {
  LinkModel l;
  l.h2d_gbps = 55.0;
  l.d2h_gbps = 55.2;
  l.bidirectional_gbps = 89.1;
  l.sm_read_gbps = 50.9;
  l.sm_write_gbps = 50.35;
  l.pageable_h2d_gbps = 8.4;
  l.pageable_d2h_gbps = 14.7;
  l.hbm_gbps = 3016.0;
  l.latency_us = 1.18;
  l.source = source;
  return l;
}

const std::array<PlatformProfile, 3>& profiles_storage() {
  static const std::array<PlatformProfile, 3> profiles{{
      {"gh200-c2c", "NVIDIA GH200 Grace Hopper: HBM3 + LPDDR5X over coherent NVLink-C2C, ATS", gh200_attributes(),
       gh200_link()},
      {"pcie-gen5-hmm", "x86-64 host + Hopper over PCIe Gen5, HMM enabled (pageable access, driver-migrated)",
       x86_h100_hmm_attributes(), x86_h100_link("profile pcie-gen5-hmm")},
      {"pcie-gen5", "x86-64 host + Hopper over PCIe Gen5, no HMM (pinned and managed memory only)", h100_base(),
       x86_h100_link("profile pcie-gen5")},
  }};
  return profiles;
}

// The names of the first profiles, which named one card rather than a link class.
constexpr std::array<PlatformProfileAlias, 3> aliases{{
    {"gh200", "gh200-c2c"},
    {"x86-h100-hmm", "pcie-gen5-hmm"},
    {"x86-h100-pcie", "pcie-gen5"},
}};

}  // namespace

std::span<const PlatformProfile> platform_profiles() { return profiles_storage(); }

std::span<const PlatformProfileAlias> platform_profile_aliases() { return aliases; }

std::string known_platform_profile_names() {
  std::string known;
  for (const PlatformProfile& p : profiles_storage()) {
    known += known.empty() ? "" : ", ";
    known += p.name;
  }
  known += " (deprecated aliases: ";
  for (std::size_t i = 0; i < aliases.size(); ++i) {
    known += fmt::format("{}{} = {}", i == 0 ? "" : ", ", aliases[i].old_name, aliases[i].name);
  }
  return known + ")";
}

const PlatformProfile& platform_profile(std::string_view name) {
  for (const PlatformProfileAlias& alias : aliases) {
    if (alias.old_name == name) name = alias.name;
  }
  for (const PlatformProfile& p : profiles_storage()) {
    if (p.name == name) return p;
  }
  throw_error(ErrorCode::not_found,
              fmt::format("unknown platform profile '{}' (known: {})", name, known_platform_profile_names()));
}

}  // namespace ghtier
