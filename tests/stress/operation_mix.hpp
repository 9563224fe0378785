// OperationMix: draws the stress test's next operation from weights over the kinds the platform supports,
// after a first round that takes each possible kind once (so that even a run of a few operations per thread,
// as under compute-sanitizer, does every kind). Directions (tier pairs) go round-robin per kind, so that a short run
// still covers every one of them; sizes are log-uniform so that both small and large requests appear.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "ghtier/memory/memory_mode.hpp"
#include "stress_operation.hpp"

namespace ghtier::stress {

struct MixOptions {
  /// Tiers the runtime can allocate in (each gets allocations, and copies in every direction among them).
  std::vector<MemoryMode> modes;
  /// Tiers a kernel may read and write on this platform (gather tables and outputs).
  std::vector<MemoryMode> gpu_modes;
  /// Tiers whose pages a prefetch can move without changing the pointer (managed; system on ATS/HMM).
  std::vector<MemoryMode> prefetch_modes;
  /// Tiers that hold a shared table (copies may read a slice of it).
  std::vector<MemoryMode> shared_modes;
  std::size_t min_bytes = 4096;
  std::size_t max_bytes = std::size_t{1} << 20;
  /// Most buffers one thread keeps at once.
  std::size_t max_held = 6;
  std::size_t max_batch_items = 16;
  /// Relative weights by StressOp (index_of); a kind the platform cannot do is never drawn whatever its weight.
  std::array<unsigned, stress_op_count> weights{3, 3, 4, 3, 2, 2, 3};
};

/// Gather row widths: narrow (a thread per row), odd, vector-wide, and a warp or block per row.
inline constexpr std::array<std::size_t, 6> gather_row_widths{4, 12, 16, 100, 256, 1024};

class OperationMix {
 public:
  /// Throws std::invalid_argument for an empty mode list, min_bytes of 0 or above max_bytes, or max_held of 0.
  OperationMix(MixOptions options, std::uint64_t seed);

  /// The next operation for a thread that keeps `held` buffers now. Free and relocate only when held > 0
  /// (held_index < held); allocate only when held < max_held.
  [[nodiscard]] PlannedOp next(std::size_t held);
  /// Whether `kind` can ever be drawn with these options.
  [[nodiscard]] bool possible(StressOp kind) const noexcept;
  [[nodiscard]] const MixOptions& options() const noexcept { return options_; }

 private:
  std::size_t draw_bytes();
  bool eligible(StressOp kind, std::size_t held) const noexcept;

  MixOptions options_;
  std::mt19937_64 rng_;
  std::array<std::size_t, stress_op_count> turn_{};  // round-robin position per kind
  std::vector<StressOp> first_round_;                // kinds not yet drawn in the first round
};

}  // namespace ghtier::stress
