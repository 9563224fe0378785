// BudgetView: how much room the runtime's per-tier budgets leave at the moment a request is resolved, so
// that a policy can spill without knowing anything about the adaptors that enforce the budgets.
#pragma once

#include "ghtier/export.h"

#include <cstddef>
#include <limits>

#include "ghtier/memory/memory_mode.hpp"

namespace ghtier {

/// "No budget": the value of a free count (or a limit) when nothing limits that tier.
inline constexpr std::size_t unlimited_bytes = std::numeric_limits<std::size_t>::max();

/// Bytes still free under each tier's budget (unlimited_bytes where the tier has none).
struct GHTIER_API BudgetView {
  std::size_t device_free = unlimited_bytes;
  std::size_t pinned_host_free = unlimited_bytes;
  std::size_t managed_free = unlimited_bytes;
  std::size_t system_free = unlimited_bytes;

  /// The free count of one tier.
  [[nodiscard]] std::size_t free_in(MemoryMode mode) const noexcept {
    switch (mode) {
      case MemoryMode::device: return device_free;
      case MemoryMode::pinned_host: return pinned_host_free;
      case MemoryMode::managed: return managed_free;
      case MemoryMode::system: return system_free;
    }
    return 0;
  }
  /// Sets the free count of one tier (the runtime sets 0 for a tier that just refused an allocation).
  void set_free_in(MemoryMode mode, std::size_t bytes) noexcept {
    switch (mode) {
      case MemoryMode::device: device_free = bytes; break;
      case MemoryMode::pinned_host: pinned_host_free = bytes; break;
      case MemoryMode::managed: managed_free = bytes; break;
      case MemoryMode::system: system_free = bytes; break;
    }
  }
};

}  // namespace ghtier
