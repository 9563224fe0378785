// Text and JSON forms of `ghtier info`. Everything here is derived from a Platform through the library's
// own pure functions (describe_mode, choose_move, relocation_for), so the report is what ghtier will do.
#include "info_report.hpp"

#include <fmt/format.h>

#include "core/json_writer.hpp"
#include "ghtier/memory_mode.hpp"
#include "ghtier/version.hpp"

namespace ghtier::tools {

namespace {

constexpr double GiB = 1024.0 * 1024.0 * 1024.0;
constexpr double MiB = 1024.0 * 1024.0;

const char* yes_no(bool flag) { return flag ? "yes" : "no"; }

std::string host_access_text(HostAccess access) {
  switch (access) {
    case HostAccess::ats:
      return "ats: kernels read and write pageable (malloc/mmap) memory through the CPU's page tables";
    case HostAccess::hmm:
      return "hmm: kernels reach pageable memory; the driver migrates its pages on fault";
    case HostAccess::none:
      return "none: kernels cannot touch pageable memory; ghtier stages it through pinned buffers";
  }
  return "unknown";
}

std::string numa_text(int node, std::string_view none) {
  return node >= 0 ? std::to_string(node) : std::string(none);
}

struct LinkField {
  const char* key;
  double LinkModel::*member;
  const char* unit;
  const char* meaning;
};
constexpr LinkField link_fields[] = {
    {"h2d_gbps", &LinkModel::h2d_gbps, "GB/s", "copy engine, pinned host -> device"},
    {"d2h_gbps", &LinkModel::d2h_gbps, "GB/s", "copy engine, device -> pinned host"},
    {"bidirectional_gbps", &LinkModel::bidirectional_gbps, "GB/s", "both directions at once, added"},
    {"sm_read_gbps", &LinkModel::sm_read_gbps, "GB/s", "a kernel reading pinned host memory in place"},
    {"sm_write_gbps", &LinkModel::sm_write_gbps, "GB/s", "a kernel writing pinned host memory in place"},
    {"pageable_h2d_gbps", &LinkModel::pageable_h2d_gbps, "GB/s", "cudaMemcpyAsync from malloc'd memory"},
    {"pageable_d2h_gbps", &LinkModel::pageable_d2h_gbps, "GB/s", "cudaMemcpyAsync to malloc'd memory"},
    {"hbm_gbps", &LinkModel::hbm_gbps, "GB/s", "a kernel reading device memory"},
    {"latency_us", &LinkModel::latency_us, "us", "one small (4 KiB) pinned copy"},
};

void write_cuda_versions(detail::JsonWriter& w, const CudaVersions& versions) {
  w.key("cuda").begin_object();
  w.key("built_with").value(format_cuda_version(versions.built_with));
  w.key("runtime").value(format_cuda_version(versions.runtime));
  w.key("driver").value(format_cuda_version(versions.driver));
  w.end_object();
}

std::string versions_line(const CudaVersions& versions) {
  const std::string driver = versions.driver > 0
                                 ? fmt::format("driver supports CUDA {}", format_cuda_version(versions.driver))
                                 : std::string("no CUDA driver loaded");
  return fmt::format("CUDA runtime {}, {}, built with CUDA {}", format_cuda_version(versions.runtime), driver,
                     format_cuda_version(versions.built_with));
}

void append_row(std::string& out, std::string_view label, std::string_view value) {
  out += fmt::format("  {:<20}{}\n", label, value);
}

}  // namespace

std::string format_cuda_version(int version) {
  if (version <= 0) return "none";
  return fmt::format("{}.{}", version / 1000, (version % 1000) / 10);
}

std::string format_info_text(const Platform& platform, const InfoSubject& subject, const CudaVersions& versions) {
  const DeviceAttributes& a = platform.attributes;
  std::string out;
  out += fmt::format("ghtier {}: {}\n", version_string(), subject.description);
  if (subject.assumed) {
    out += "(a built-in profile: its attributes and published link figures, not a measured device)\n";
  }
  out += versions_line(versions) + "\n\nDevice\n";
  append_row(out, "name", a.name);
  append_row(out, "compute capability", fmt::format("{}.{}", a.compute_major, a.compute_minor));
  append_row(out, "SMs", std::to_string(a.sm_count));
  append_row(out, "HBM", fmt::format("{:.1f} GiB", static_cast<double>(a.hbm_bytes) / GiB));
  append_row(out, "L2 cache", fmt::format("{:.1f} MiB", static_cast<double>(a.l2_bytes) / MiB));
  append_row(out, "copy engines", fmt::format("{}{}", a.async_engine_count,
                                              a.async_engine_count >= 2 ? " (H2D and D2H can overlap)" : ""));
  append_row(out, "host NUMA node", numa_text(a.host_numa_id, "not reported"));
  append_row(out, "HBM NUMA node", numa_text(a.numa_id, "none (HBM is not a NUMA node of the OS)"));

  out += "\nPlatform\n";
  append_row(out, "class", to_string(platform.platform_class));
  append_row(out, "host access", host_access_text(platform.host_access));
  append_row(out, "coherent", platform.coherent ? "yes: CPU and GPU atomics are coherent" : "no");
  append_row(out, "managed migrates",
             platform.managed_migrates ? "yes: on fault and on prefetch; cudaMemAdvise works" : "no");
  append_row(out, "GPU reads pageable", yes_no(platform.gpu_reads_pageable));

  out += "\nMemory modes (what each allocation mode is here)\n";
  out += fmt::format("  {:<13}{:<5}{:<5}{:<10}{:<12}{}\n", "mode", "GPU", "CPU", "migrates", "relocation",
                     "lives in; GPU path");
  for (MemoryMode mode : all_memory_modes) {
    const ModeAccess access = describe_mode(platform, mode);
    out += fmt::format("  {:<13}{:<5}{:<5}{:<10}{:<12}{}; {}\n", to_string(mode), yes_no(access.gpu_access),
                       yes_no(access.cpu_access), yes_no(access.migrates), to_string(relocation_for(platform, mode)),
                       access.lives_in, access.gpu_path);
  }

  out += fmt::format("\nLink model ({})\n", platform.link.source.empty() ? "no source" : platform.link.source);
  for (const LinkField& f : link_fields) {
    out += fmt::format("  {:<20}{:>9.2f} {:<6}{}\n", f.key, platform.link.*f.member, f.unit, f.meaning);
  }
  if (!subject.assumed && platform.link.source.starts_with("profile")) {
    out += "  (the profile's figures: `ghtier info --calibrate [--save FILE]` measures this device)\n";
  }

  out += "\nMoves (how ghtier copies from a buffer of the row's mode into one of the column's)\n";
  auto append_trimmed = [&out](std::string line) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + '\n';
  };
  std::string header = fmt::format("  {:<13}", "from \\ to");
  for (MemoryMode to : all_memory_modes) header += fmt::format("{:<13}", to_string(to));
  append_trimmed(std::move(header));
  for (MemoryMode from : all_memory_modes) {
    std::string line = fmt::format("  {:<13}", to_string(from));
    for (MemoryMode to : all_memory_modes) line += fmt::format("{:<13}", to_string(choose_move(platform, from, to)));
    append_trimmed(std::move(line));
  }
  out += "  copy_engine: cudaMemcpyAsync (DMA); staged_copy: CPU threads copy through pinned buffers while the\n"
         "  DMA moves the previous chunk; host_copy: CPU threads copy. relocation prefetch: cudaMemPrefetchAsync\n"
         "  moves the pages without changing the pointer.\n";
  // Last, in one line: what scripts/gpu-check shows as the info stage's summary.
  out += fmt::format("\n{}: {} (CC {}.{}, {} SMs, {:.1f} GiB HBM): class {}, host access {}, link from {}\n",
                     subject.description.substr(0, subject.description.find(':')), a.name, a.compute_major,
                     a.compute_minor, a.sm_count, static_cast<double>(a.hbm_bytes) / GiB,
                     to_string(platform.platform_class), to_string(platform.host_access),
                     platform.link.source.empty() ? "no source" : platform.link.source);
  return out;
}

std::string format_info_json(const Platform& platform, const InfoSubject& subject, const CudaVersions& versions) {
  const DeviceAttributes& a = platform.attributes;
  detail::JsonWriter w;
  w.begin_object();
  w.key("ghtier_version").value(version_string());
  w.key("subject").value(subject.description);
  w.key("assumed").value(subject.assumed);
  write_cuda_versions(w, versions);

  w.key("device").begin_object();
  w.key("name").value(a.name);
  w.key("compute_capability").value(fmt::format("{}.{}", a.compute_major, a.compute_minor));
  w.key("sm_count").value(a.sm_count);
  w.key("hbm_bytes").value(static_cast<std::uint64_t>(a.hbm_bytes));
  w.key("l2_bytes").value(static_cast<std::uint64_t>(a.l2_bytes));
  w.key("copy_engines").value(a.async_engine_count);
  w.key("host_numa_node");
  if (a.host_numa_id >= 0) w.value(a.host_numa_id); else w.null();
  w.key("hbm_numa_node");
  if (a.numa_id >= 0) w.value(a.numa_id); else w.null();
  w.key("attributes").begin_object();
  w.key("pageable_memory_access").value(a.pageable_memory_access);
  w.key("pageable_memory_access_uses_host_page_tables").value(a.pageable_memory_access_uses_host_page_tables);
  w.key("concurrent_managed_access").value(a.concurrent_managed_access);
  w.key("direct_managed_mem_access_from_host").value(a.direct_managed_mem_access_from_host);
  w.key("host_native_atomic_supported").value(a.host_native_atomic_supported);
  w.key("can_use_host_pointer_for_registered_mem").value(a.can_use_host_pointer_for_registered_mem);
  w.key("host_register_supported").value(a.host_register_supported);
  w.key("memory_pools_supported").value(a.memory_pools_supported);
  w.end_object();
  w.end_object();

  w.key("platform").begin_object();
  w.key("class").value(to_string(platform.platform_class));
  w.key("host_access").value(to_string(platform.host_access));
  w.key("coherent").value(platform.coherent);
  w.key("managed_migrates").value(platform.managed_migrates);
  w.key("gpu_reads_pageable").value(platform.gpu_reads_pageable);
  w.end_object();

  w.key("memory_modes").begin_object();
  for (MemoryMode mode : all_memory_modes) {
    const ModeAccess access = describe_mode(platform, mode);
    w.key(to_string(mode)).begin_object();
    w.key("gpu_access").value(access.gpu_access);
    w.key("cpu_access").value(access.cpu_access);
    w.key("migrates").value(access.migrates);
    w.key("relocation").value(to_string(relocation_for(platform, mode)));
    w.key("lives_in").value(access.lives_in);
    w.key("gpu_path").value(access.gpu_path);
    w.end_object();
  }
  w.end_object();

  w.key("link").begin_object();
  w.key("source").value(platform.link.source);
  for (const LinkField& f : link_fields) w.key(f.key).value(platform.link.*f.member);
  w.end_object();

  w.key("moves").begin_array();
  for (MemoryMode from : all_memory_modes) {
    for (MemoryMode to : all_memory_modes) {
      w.begin_object();
      w.key("from").value(to_string(from));
      w.key("to").value(to_string(to));
      w.key("mechanism").value(to_string(choose_move(platform, from, to)));
      w.end_object();
    }
  }
  w.end_array();
  w.end_object();
  return w.str();
}

std::string format_no_device_text(std::string_view error, const CudaVersions& versions) {
  std::string out = fmt::format("ghtier {}: {}\n", version_string(), error);
  out += versions_line(versions) + "\n\n";
  out += "Without a GPU, ghtier can describe a built-in platform profile:\n";
  for (const PlatformProfile& profile : platform_profiles()) {
    out += fmt::format("  {:<15}{}\n", profile.name, profile.description);
  }
  out += "e.g. `ghtier info --assume gh200`.\n";
  return out;
}

std::string format_no_device_json(std::string_view error, const CudaVersions& versions) {
  detail::JsonWriter w;
  w.begin_object();
  w.key("ghtier_version").value(version_string());
  w.key("error").begin_object();
  w.key("code").value("no_device");
  w.key("message").value(error);
  w.end_object();
  write_cuda_versions(w, versions);
  w.key("profiles").begin_array();
  for (const PlatformProfile& profile : platform_profiles()) {
    w.begin_object();
    w.key("name").value(profile.name);
    w.key("description").value(profile.description);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.str();
}

}  // namespace ghtier::tools
