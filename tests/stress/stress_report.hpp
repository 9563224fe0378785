// What the stress test counts while it runs (operations done and refused, per kind) and what it reports at
// the end: a table of operations per second per kind and the tiers' budgets, and the same as JSON.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "budget_ledger.hpp"
#include "stress_operation.hpp"

namespace ghtier::stress {

struct KindCount {
  std::uint64_t done = 0;     ///< operations completed and verified
  std::uint64_t refused = 0;  ///< operations skipped because a budget refused their memory
  std::uint64_t bytes = 0;    ///< bytes moved and verified (allocated, for allocate)
};

/// Thread-safe counters by kind.
class StressCounters {
 public:
  void done(StressOp kind, std::uint64_t bytes) noexcept;
  void refused(StressOp kind) noexcept;
  [[nodiscard]] KindCount count(StressOp kind) const noexcept;

 private:
  struct Slot {
    std::atomic<std::uint64_t> done{0}, refused{0}, bytes{0};
  };
  std::array<Slot, stress_op_count> slots_;
};

struct StressReport {
  unsigned threads = 0;
  double seconds = 0;  ///< wall time of the mixed phase
  std::array<KindCount, stress_op_count> kinds{};
  std::vector<std::pair<MemoryMode, TierTally>> tiers;
  std::vector<std::string> problems;  ///< failures and violations (empty when the run passed)
};

/// One line per kind (ops, ops/s, refused, MB/s) and per tier (budget, peak held, allocations, refusals).
[[nodiscard]] std::string format_report(const StressReport& report);
[[nodiscard]] nlohmann::ordered_json report_json(const StressReport& report);

}  // namespace ghtier::stress
