// The kinds of operation the GPU stress test mixes, and one planned operation: plain values, so that the
// mix, the ledger and the report can be tested on the CPU with fake operations.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ghtier/memory/memory_mode.hpp"

namespace ghtier::stress {

enum class StressOp {
  allocate,  ///< allocate a buffer the thread keeps for a while (filled with its pattern)
  free,      ///< free a kept buffer (its pattern verified first: nothing else wrote into it)
  copy,      ///< an engine copy between two tiers (or from a slice of a shared table)
  batch,     ///< an engine batch of small copies between two tiers, destinations permuted
  prefetch,  ///< managed (migratable) memory prefetched to the device and back, bytes intact
  relocate,  ///< Runtime::relocate_to of a kept buffer into another tier, bytes intact
  gather,    ///< the gather kernel reading a shared table in a GPU-reachable tier
};
inline constexpr std::size_t stress_op_count = 7;
inline constexpr std::array<StressOp, stress_op_count> all_stress_ops{
    StressOp::allocate, StressOp::free,     StressOp::copy,  StressOp::batch,
    StressOp::prefetch, StressOp::relocate, StressOp::gather};

[[nodiscard]] std::string_view to_string(StressOp op) noexcept;
[[nodiscard]] constexpr std::size_t index_of(StressOp op) noexcept { return static_cast<std::size_t>(op); }
[[nodiscard]] constexpr std::size_t index_of(MemoryMode mode) noexcept { return static_cast<std::size_t>(mode); }

/// One operation as the mix generator chose it; the worker carries it out.
struct PlannedOp {
  StressOp kind = StressOp::allocate;
  MemoryMode from = MemoryMode::device;  ///< source tier (copy, batch), table tier (gather), tier (allocate,
                                         ///< prefetch)
  MemoryMode to = MemoryMode::device;    ///< destination tier (copy, batch, relocate), output tier (gather)
  std::size_t bytes = 0;                 ///< buffer size (allocate, copy, batch, prefetch), output size (gather)
  std::size_t items = 1;                 ///< batch items; gather: the row width in bytes
  std::size_t held_index = 0;            ///< free, relocate: which kept buffer (< the thread's count)
  bool use_stream = false;               ///< allocate on (and free in the order of) the thread's stream
  bool urgent = false;                   ///< engine priority
  bool from_shared = false;              ///< copy: the source is a slice of the shared table of `from`
  bool via_engine = true;                ///< prefetch: through the engine (true) or Runtime::prefetch (false)
  std::uint64_t seed = 0;                ///< the operation's byte pattern
};

/// "copy pinned_host->device 12345 B" and the like, for failure messages and the hang watchdog.
[[nodiscard]] std::string describe(const PlannedOp& op);

}  // namespace ghtier::stress
