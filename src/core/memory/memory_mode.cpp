// What each allocation mode is on a platform, and which mechanism moves bytes between modes. Pure.
#include "ghtier/memory/memory_mode.hpp"

#include "core/support/enum_names.hpp"

namespace ghtier {

constexpr detail::EnumName<MemoryMode> memory_mode_names[] = {
    {MemoryMode::device, "device"}, {MemoryMode::pinned_host, "pinned_host"}, {MemoryMode::managed, "managed"},
    {MemoryMode::system, "system"}, {MemoryMode::pinned_host, "pinned"},  // alias: parse accepts it, to_string never
                                                                          // prints it
};
static_assert(detail::enum_names_complete(memory_mode_names, MemoryMode::device, MemoryMode::system));

std::string_view to_string(MemoryMode mode) noexcept { return detail::enum_to_string(memory_mode_names, mode); }

std::optional<MemoryMode> parse_memory_mode(std::string_view text) noexcept {
  return detail::enum_parse(memory_mode_names, text);
}

constexpr detail::EnumName<MoveMechanism> move_mechanism_names[] = {
    {MoveMechanism::copy_engine, "copy_engine"},
    {MoveMechanism::staged_copy, "staged_copy"},
    {MoveMechanism::host_copy, "host_copy"},
};
static_assert(detail::enum_names_complete(move_mechanism_names, MoveMechanism::copy_engine, MoveMechanism::host_copy));

std::string_view to_string(MoveMechanism mechanism) noexcept {
  return detail::enum_to_string(move_mechanism_names, mechanism);
}

constexpr detail::EnumName<Relocation> relocation_names[] = {
    {Relocation::none, "none"},
    {Relocation::prefetch, "prefetch"},
};
static_assert(detail::enum_names_complete(relocation_names, Relocation::none, Relocation::prefetch));

std::string_view to_string(Relocation relocation) noexcept {
  return detail::enum_to_string(relocation_names, relocation);
}

ModeAccess describe_mode(const Platform& platform, MemoryMode mode) noexcept {
  const bool c2c = platform.platform_class == PlatformClass::coherent_c2c;
  switch (mode) {
    case MemoryMode::device: return {true, false, false, "GPU HBM", "local HBM"};
    case MemoryMode::pinned_host:
      return {true, true, false, c2c ? "CPU LPDDR5X, page-locked" : "CPU DRAM, page-locked",
              c2c ? "in place over NVLink-C2C (coherent)" : "in place over PCIe (zero-copy)"};
    case MemoryMode::managed:
      if (!platform.managed_migrates) {
        return {true, true, false, "host or device, moved whole at kernel launch", "after migration at launch"};
      }
      return {true, true, true, "where it was last touched or prefetched",
              c2c ? "migrates on fault or prefetch; access counters move hot pages" : "migrates on fault or prefetch"};
    case MemoryMode::system:
      switch (platform.host_access) {
        case HostAccess::ats:
          return {true, true, true, "CPU memory where first touched (HBM once migrated)",
                  "in place over NVLink-C2C through ATS; access counters migrate hot pages"};
        case HostAccess::hmm:
          return {true, true, true, "CPU DRAM (migrated to HBM on GPU fault)", "HMM page faults migrate pages"};
        case HostAccess::none:
          return {false, true, false, "CPU DRAM, pageable", "none: the engine stages it through pinned buffers"};
      }
  }
  return {};
}

MoveMechanism choose_move(const Platform& platform, MemoryMode from, MemoryMode to) noexcept {
  const bool from_host = from == MemoryMode::pinned_host || from == MemoryMode::system;
  const bool to_host = to == MemoryMode::pinned_host || to == MemoryMode::system;
  // Two CPU-memory buffers: no link to cross, CPU threads copy.
  if (from_host && to_host) return MoveMechanism::host_copy;
  // Pageable memory crosses the link at pageable speed unless ATS gives the DMA its page table:
  // on PCIe (with or without HMM) ghtier stages it through pinned buffers.
  const bool pageable_side = from == MemoryMode::system || to == MemoryMode::system;
  if (pageable_side && platform.host_access != HostAccess::ats) return MoveMechanism::staged_copy;
  return MoveMechanism::copy_engine;
}

Relocation relocation_for(const Platform& platform, MemoryMode mode) noexcept {
  switch (mode) {
    case MemoryMode::managed: return platform.managed_migrates ? Relocation::prefetch : Relocation::none;
    case MemoryMode::system:
      // cudaMemPrefetchAsync accepts system-allocated memory where the GPU has pageable access.
      return platform.gpu_reads_pageable && platform.managed_migrates ? Relocation::prefetch : Relocation::none;
    case MemoryMode::device:
    case MemoryMode::pinned_host: return Relocation::none;
  }
  return Relocation::none;
}

}  // namespace ghtier
