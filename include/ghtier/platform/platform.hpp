// Platform: what one CUDA device is and how it reaches the CPU's memory. Classification is a pure
// function of a plain attribute record, so every platform (GH200 included) is tested without its hardware.
#pragma once

#include "ghtier/export.h"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "ghtier/platform/link_model.hpp"

namespace ghtier {

/// The facts CUDA reports for one device (cudaDeviceGetAttribute / cudaGetDeviceProperties).
struct GHTIER_API DeviceAttributes {
  int device = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  int sm_count = 0;
  std::size_t hbm_bytes = 0;
  std::size_t l2_bytes = 0;
  int async_engine_count = 0;                                 ///< copy engines
  bool pageable_memory_access = false;                        ///< GPU can touch malloc/mmap memory (ATS or HMM)
  bool pageable_memory_access_uses_host_page_tables = false;  ///< ... through the CPU's page table (ATS)
  bool concurrent_managed_access = false;            ///< managed memory migrates on fault; advise/prefetch work
  bool direct_managed_mem_access_from_host = false;  ///< CPU touches GPU-resident managed pages in place
  bool host_native_atomic_supported = false;         ///< coherent CPU-GPU atomics (NVLink-C2C)
  bool can_use_host_pointer_for_registered_mem = false;
  bool host_register_supported = false;
  bool memory_pools_supported = false;
  int host_numa_id = -1;       ///< host NUMA node closest to the GPU; -1 when CUDA does not say
  int numa_id = -1;            ///< NUMA node of the GPU's own memory (GH200 exposes HBM as one); -1 when none
  std::string uuid;            ///< "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" as nvidia-smi prints it; "" for a profile
  std::string driver_version;  ///< the kernel driver's version ("580.65.06"), else "cuda-<driver API version>"; "" for
                               ///< a profile
};

/// How the GPU reaches pageable (malloc/mmap) host memory.
enum class HostAccess {
  none,  ///< it cannot: only pinned/registered and managed memory (plain PCIe)
  hmm,   ///< heterogeneous memory management: pageable access, migrated by the driver, no host page tables
  ats,   ///< address translation services over the host page tables (GH200, NVLink-C2C)
};

/// The family a device belongs to; decides mechanisms and link defaults.
enum class PlatformClass {
  coherent_c2c,  ///< GH200 class: ATS over a hardware-coherent NVLink-C2C
  hmm_pcie,      ///< x86 (or Arm) + discrete GPU over PCIe with HMM enabled
  pcie,          ///< discrete GPU over PCIe, no pageable access
};

[[nodiscard]] GHTIER_API std::string_view to_string(HostAccess access) noexcept;
[[nodiscard]] GHTIER_API std::string_view to_string(PlatformClass platform_class) noexcept;

struct GHTIER_API Platform {
  DeviceAttributes attributes;
  PlatformClass platform_class = PlatformClass::pcie;
  HostAccess host_access = HostAccess::none;
  bool coherent = false;            ///< CPU and GPU caches are coherent (atomics work across them)
  bool managed_migrates = false;    ///< managed memory migrates on fault and honours advise/prefetch
  bool gpu_reads_pageable = false;  ///< a kernel may dereference malloc'd memory
  LinkModel link;                   ///< the profile's figures until calibrate() replaces them
};

/// Pure: attributes -> platform, with the link figures of the matching built-in profile.
[[nodiscard]] GHTIER_API Platform classify(const DeviceAttributes& attributes);
/// Pure: as above, with a link model the caller measured or loaded.
[[nodiscard]] GHTIER_API Platform classify(const DeviceAttributes& attributes, LinkModel link);

/// A named platform that ghtier knows without its hardware: its attributes and published link figures.
/// Named by link class: "gh200-c2c" (GH200, NVLink-C2C), "pcie-gen5-hmm", "pcie-gen5" (x86 + Hopper over
/// PCIe Gen5 with and without HMM).
struct GHTIER_API PlatformProfile {
  std::string_view name;  ///< "gh200-c2c", "pcie-gen5-hmm", "pcie-gen5"
  std::string_view description;
  DeviceAttributes attributes;
  LinkModel link;
};

/// A deprecated name that still selects a profile: "gh200" (gh200-c2c), "x86-h100-hmm" (pcie-gen5-hmm),
/// "x86-h100-pcie" (pcie-gen5).
struct GHTIER_API PlatformProfileAlias {
  std::string_view old_name;
  std::string_view name;  ///< the profile it stands for
};

/// The profiles under their current names (aliases are not listed).
[[nodiscard]] GHTIER_API std::span<const PlatformProfile> platform_profiles();
[[nodiscard]] GHTIER_API std::span<const PlatformProfileAlias> platform_profile_aliases();
/// "gh200-c2c, pcie-gen5-hmm, pcie-gen5 (deprecated aliases: gh200 = gh200-c2c, ...)": for error messages.
[[nodiscard]] GHTIER_API std::string known_platform_profile_names();
/// The profile of a name or a deprecated alias (its `name` is then the current one). Throws
/// Error(not_found) naming the known profiles.
[[nodiscard]] GHTIER_API const PlatformProfile& platform_profile(std::string_view name);
/// The platform a profile describes: classify(profile.attributes, profile.link).
[[nodiscard]] GHTIER_API Platform assume_platform(std::string_view profile_name);

/// Reads the attributes of a real device. Throws Error(no_device) with CUDA's text when there is none.
[[nodiscard]] GHTIER_API DeviceAttributes query_device_attributes(int device);
/// classify(query_device_attributes(device)).
[[nodiscard]] GHTIER_API Platform detect_platform(int device);
/// Number of visible CUDA devices; 0 (never an error) when there is no GPU or no driver.
[[nodiscard]] GHTIER_API int visible_device_count() noexcept;

}  // namespace ghtier
