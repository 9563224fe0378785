// Text and JSON forms of `ghtier info`. Everything here is derived from a Platform through the library's
// own pure functions (describe_mode, choose_move, relocation_for), so the report is what ghtier will do.
#include "info_report.hpp"

#include <fmt/format.h>

#include "core/platform/cpu_list.hpp"
#include "core/platform/topology_json.hpp"
#include "core/support/json_object.hpp"
#include "ghtier/memory/memory_mode.hpp"
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
    case HostAccess::hmm: return "hmm: kernels reach pageable memory; the driver migrates its pages on fault";
    case HostAccess::none: return "none: kernels cannot touch pageable memory; ghtier stages it through pinned buffers";
  }
  return "unknown";
}

std::string numa_text(int node, std::string_view none) { return node >= 0 ? std::to_string(node) : std::string(none); }

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

nlohmann::ordered_json cuda_versions_json(const CudaVersions& versions) {
  return {{"built_with", format_cuda_version(versions.built_with)},
          {"runtime", format_cuda_version(versions.runtime)},
          {"driver", format_cuda_version(versions.driver)}};
}

// A NUMA node id, or null where the OS reports none.
nlohmann::ordered_json numa_json(int node) { return node >= 0 ? nlohmann::ordered_json(node) : nullptr; }

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

std::string format_topology_text(const detail::SystemTopology& topology) {
  std::string out = fmt::format("\nTopology ({} GPU(s), {} NUMA node(s); {})\n", topology.gpus.size(),
                                topology.nodes.size(), topology.source);
  out += fmt::format("  {:<5}{:<16}{:<11}{:<14}{}\n", "GPU", "PCI bus id", "NUMA node", "ghtier uses", "name");
  for (const detail::TopologyGpu& g : topology.gpus) {
    out += fmt::format("  {:<5}{:<16}{:<11}{:<14}{}\n", g.index, g.pci_bus_id, numa_text(g.host_numa_node, "-"),
                       numa_text(detail::numa_node_for_gpu(topology, g.index), "none"), g.name);
  }
  for (const detail::TopologyNumaNode& n : topology.nodes) {
    const std::string cpus = detail::format_cpu_list(n.cpus);
    out += fmt::format("  NUMA node {}: CPUs {}\n", n.node, cpus.empty() ? "none (memory only)" : cpus);
  }
  if (topology.gpus.size() > 1) {
    // Row: the GPU that reads; column: the GPU whose memory it reads. "-" where it has no peer access.
    out += "  Peer access (row reads column's memory: link, CUDA's performance rank, 0 best; * native atomics)\n";
    std::string header = fmt::format("  {:<6}", "");
    for (const detail::TopologyGpu& g : topology.gpus) header += fmt::format("{:<12}", fmt::format("GPU {}", g.index));
    while (!header.empty() && header.back() == ' ') header.pop_back();
    out += header + '\n';
    for (const detail::TopologyGpu& from : topology.gpus) {
      std::string line = fmt::format("  {:<6}", fmt::format("GPU {}", from.index));
      for (const detail::TopologyGpu& to : topology.gpus) {
        std::string cell = "x";
        if (from.index != to.index) {
          const detail::TopologyPeer& p = detail::topology_peer(topology, from.index, to.index);
          cell = !p.access ? "-"
                           : fmt::format("{}{}{}", to_string(p.link),
                                         p.performance_rank >= 0 ? fmt::format(" r{}", p.performance_rank) : "",
                                         p.native_atomics ? " *" : "");
        }
        line += fmt::format("{:<12}", cell);
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + '\n';
    }
    out += "  (the link is inferred: peer access with native atomics is taken as NVLink, without them as PCIe)\n";
  }
  return out;
}

std::string format_info_text(const Platform& platform, const InfoSubject& subject, const CudaVersions& versions,
                             const detail::SystemTopology* topology) {
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
  append_row(out, "copy engines",
             fmt::format("{}{}", a.async_engine_count, a.async_engine_count >= 2 ? " (H2D and D2H can overlap)" : ""));
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
  out +=
      "  copy_engine: cudaMemcpyAsync (DMA); staged_copy: CPU threads copy through pinned buffers while the\n"
      "  DMA moves the previous chunk; host_copy: CPU threads copy. relocation prefetch: cudaMemPrefetchAsync\n"
      "  moves the pages without changing the pointer.\n";
  if (topology != nullptr) out += format_topology_text(*topology);
  // Last, in one line: what scripts/gpu-check shows as the info stage's summary.
  out += fmt::format("\n{}: {} (CC {}.{}, {} SMs, {:.1f} GiB HBM): class {}, host access {}, link from {}\n",
                     subject.description.substr(0, subject.description.find(':')), a.name, a.compute_major,
                     a.compute_minor, a.sm_count, static_cast<double>(a.hbm_bytes) / GiB,
                     to_string(platform.platform_class), to_string(platform.host_access),
                     platform.link.source.empty() ? "no source" : platform.link.source);
  return out;
}

std::string format_info_json(const Platform& platform, const InfoSubject& subject, const CudaVersions& versions,
                             const detail::SystemTopology* topology) {
  const DeviceAttributes& a = platform.attributes;
  using Json = nlohmann::ordered_json;
  Json out;
  out["ghtier_version"] = version_string();
  out["subject"] = subject.description;
  out["assumed"] = subject.assumed;
  out["cuda"] = cuda_versions_json(versions);

  Json& device = out["device"];
  device["name"] = a.name;
  device["compute_capability"] = fmt::format("{}.{}", a.compute_major, a.compute_minor);
  device["sm_count"] = a.sm_count;
  device["hbm_bytes"] = static_cast<std::uint64_t>(a.hbm_bytes);
  device["l2_bytes"] = static_cast<std::uint64_t>(a.l2_bytes);
  device["copy_engines"] = a.async_engine_count;
  device["host_numa_node"] = numa_json(a.host_numa_id);
  device["hbm_numa_node"] = numa_json(a.numa_id);
  device["attributes"] = {
      {"pageable_memory_access", a.pageable_memory_access},
      {"pageable_memory_access_uses_host_page_tables", a.pageable_memory_access_uses_host_page_tables},
      {"concurrent_managed_access", a.concurrent_managed_access},
      {"direct_managed_mem_access_from_host", a.direct_managed_mem_access_from_host},
      {"host_native_atomic_supported", a.host_native_atomic_supported},
      {"can_use_host_pointer_for_registered_mem", a.can_use_host_pointer_for_registered_mem},
      {"host_register_supported", a.host_register_supported},
      {"memory_pools_supported", a.memory_pools_supported},
  };

  out["platform"] = {
      {"class", to_string(platform.platform_class)},
      {"host_access", to_string(platform.host_access)},
      {"coherent", platform.coherent},
      {"managed_migrates", platform.managed_migrates},
      {"gpu_reads_pageable", platform.gpu_reads_pageable},
  };

  Json& modes = out["memory_modes"] = Json::object();
  for (MemoryMode mode : all_memory_modes) {
    const ModeAccess access = describe_mode(platform, mode);
    modes[std::string(to_string(mode))] = {
        {"gpu_access", access.gpu_access}, {"cpu_access", access.cpu_access},
        {"migrates", access.migrates},     {"relocation", to_string(relocation_for(platform, mode))},
        {"lives_in", access.lives_in},     {"gpu_path", access.gpu_path},
    };
  }

  Json& link = out["link"];
  link["source"] = platform.link.source;
  for (const LinkField& f : link_fields) link[f.key] = platform.link.*f.member;

  Json& moves = out["moves"] = Json::array();
  for (MemoryMode from : all_memory_modes) {
    for (MemoryMode to : all_memory_modes) {
      moves.push_back({{"from", to_string(from)},
                       {"to", to_string(to)},
                       {"mechanism", to_string(choose_move(platform, from, to))}});
    }
  }
  if (topology != nullptr) {
    out["topology"] = detail::topology_to_json(*topology);
    Json& chosen = out["topology"]["numa_node_used"] = Json::array();  // per GPU: where ghtier places its host side
    for (const detail::TopologyGpu& g : topology->gpus)
      chosen.push_back(numa_json(detail::numa_node_for_gpu(*topology, g.index)));
  }
  return detail::dump_json_document(out);
}

std::string format_no_device_text(std::string_view error, const CudaVersions& versions) {
  std::string out = fmt::format("ghtier {}: {}\n", version_string(), error);
  out += versions_line(versions) + "\n\n";
  out += "Without a GPU, ghtier can describe a built-in platform profile:\n";
  for (const PlatformProfile& profile : platform_profiles()) {
    out += fmt::format("  {:<15}{}\n", profile.name, profile.description);
  }
  out += "e.g. `ghtier info --assume gh200-c2c`.\n";
  return out;
}

std::string format_no_device_json(std::string_view error, const CudaVersions& versions) {
  using Json = nlohmann::ordered_json;
  Json out;
  out["ghtier_version"] = version_string();
  out["error"] = {{"code", "no_device"}, {"message", error}};
  out["cuda"] = cuda_versions_json(versions);
  Json& profiles = out["profiles"] = Json::array();
  for (const PlatformProfile& profile : platform_profiles()) {
    profiles.push_back({{"name", profile.name}, {"description", profile.description}});
  }
  return detail::dump_json_document(out);
}

}  // namespace ghtier::tools
