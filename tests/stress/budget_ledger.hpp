// BudgetLedger: the stress test's own count of the bytes it holds in each tier, kept apart from the runtime's
// counters, to prove the budgets were never passed and that every refusal was deserved.
//
// Two bounds per tier bracket the runtime's usage U at every instant, for memory only this test allocates:
//   held    (lower): raised after an allocation returns, lowered before a free is issued;
//   claimed (upper): raised before an allocation is asked for, lowered after a free returns.
// So held <= U <= claimed. held > budget proves the runtime let U pass its budget. A refusal is deserved only
// if U plus the request passed the budget at some instant of the call, which needs claimed (which includes
// the request itself) above the budget at some instant of the call: the ledger tracks the largest claimed
// seen during each open attempt, and a refusal whose attempt never saw claimed > budget is a false refusal.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ghtier/memory/memory_mode.hpp"

namespace ghtier::stress {

/// One tier as the ledger saw it.
struct TierTally {
  std::size_t budget = 0;
  std::size_t held = 0;
  std::size_t claimed = 0;
  std::size_t peak_held = 0;
  std::uint64_t allocations = 0;      ///< successful allocations
  std::uint64_t allocated_bytes = 0;  ///< their bytes
  std::uint64_t refusals = 0;         ///< out_of_budget refusals
  std::uint64_t failures = 0;         ///< allocations that failed otherwise
  std::uint64_t runtime_samples = 0;  ///< observe_runtime calls
  std::size_t runtime_peak_used = 0;  ///< the largest usage the runtime reported
};

/// Thread-safe (one mutex; the operations it counts take far longer than the lock).
class BudgetLedger {
 public:
  using Attempt = std::uint64_t;

  /// Budgets by MemoryMode index (index_of); unlimited_bytes for a tier without a budget.
  explicit BudgetLedger(std::array<std::size_t, 4> budgets);

  /// Before asking the runtime for `bytes` in `mode`: claims them and opens an attempt.
  [[nodiscard]] Attempt begin_allocation(MemoryMode mode, std::size_t bytes);
  /// The allocation returned: the bytes are held. A violation if held passes the budget.
  void allocation_succeeded(Attempt attempt);
  /// The runtime refused with out_of_budget: a violation if claimed never passed the budget during the call.
  void allocation_refused(Attempt attempt);
  /// The allocation failed with another error (the caller reports that error): the claim is dropped.
  void allocation_failed(Attempt attempt);

  /// Before issuing the free of `bytes` in `mode` (or handing the buffer to an operation that frees it).
  void begin_free(MemoryMode mode, std::size_t bytes);
  /// The free returned.
  void end_free(MemoryMode mode, std::size_t bytes);
  /// The operation that was to free the buffer failed and gave it back (undoes begin_free).
  void cancel_free(MemoryMode mode, std::size_t bytes);

  /// A sample of the runtime's own counters for `mode`: its budget usage, the statistics' current and peak
  /// bytes. Violations if any passes the budget.
  void observe_runtime(MemoryMode mode, std::size_t budget_used, std::size_t current_bytes, std::size_t peak_bytes);

  [[nodiscard]] TierTally tally(MemoryMode mode) const;
  /// Every violation seen (empty when the budgets held and every refusal was deserved).
  [[nodiscard]] std::vector<std::string> violations() const;
  /// Attempts begun and not yet ended.
  [[nodiscard]] std::size_t open_attempts() const;

 private:
  struct OpenAttempt {
    MemoryMode mode;
    std::size_t bytes;
    std::size_t max_claimed;  // the largest claimed of its tier since it began
  };
  void violation(std::string text);    // mutex held
  OpenAttempt close(Attempt attempt);  // mutex held

  mutable std::mutex mutex_;
  std::array<TierTally, 4> tiers_{};
  std::map<Attempt, OpenAttempt> open_;
  Attempt next_attempt_ = 1;
  std::vector<std::string> violations_;
};

}  // namespace ghtier::stress
