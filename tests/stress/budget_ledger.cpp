// BudgetLedger: lower and upper bounds of each tier's usage, checked against its budget.
#include "budget_ledger.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "stress_operation.hpp"

namespace ghtier::stress {

namespace {
constexpr std::size_t max_kept_violations = 64;
}

BudgetLedger::BudgetLedger(std::array<std::size_t, 4> budgets) {
  for (std::size_t i = 0; i < tiers_.size(); ++i) tiers_[i].budget = budgets[i];
}

void BudgetLedger::violation(std::string text) {
  if (violations_.size() < max_kept_violations) violations_.push_back(std::move(text));
}

BudgetLedger::Attempt BudgetLedger::begin_allocation(MemoryMode mode, std::size_t bytes) {
  std::lock_guard lock(mutex_);
  TierTally& t = tiers_.at(index_of(mode));
  t.claimed += bytes;
  for (auto& [id, open] : open_) {
    if (open.mode == mode) open.max_claimed = std::max(open.max_claimed, t.claimed);
  }
  const Attempt id = next_attempt_++;
  open_.emplace(id, OpenAttempt{mode, bytes, t.claimed});
  return id;
}

BudgetLedger::OpenAttempt BudgetLedger::close(Attempt attempt) {
  const auto it = open_.find(attempt);
  if (it == open_.end()) throw std::logic_error(fmt::format("BudgetLedger: attempt {} is not open", attempt));
  const OpenAttempt open = it->second;
  open_.erase(it);
  return open;
}

void BudgetLedger::allocation_succeeded(Attempt attempt) {
  std::lock_guard lock(mutex_);
  const OpenAttempt open = close(attempt);
  TierTally& t = tiers_[index_of(open.mode)];
  t.held += open.bytes;
  t.peak_held = std::max(t.peak_held, t.held);
  ++t.allocations;
  t.allocated_bytes += open.bytes;
  if (t.held > t.budget) {
    violation(fmt::format("{}: the test holds {} bytes after an allocation of {}, past the budget of {}",
                          to_string(open.mode), t.held, open.bytes, t.budget));
  }
}

void BudgetLedger::allocation_refused(Attempt attempt) {
  std::lock_guard lock(mutex_);
  const OpenAttempt open = close(attempt);
  TierTally& t = tiers_[index_of(open.mode)];
  ++t.refusals;
  if (open.max_claimed <= t.budget) {
    violation(
        fmt::format("{}: {} bytes refused as out of budget, yet at most {} bytes (this request included) "
                    "were claimed during the call, within the budget of {}",
                    to_string(open.mode), open.bytes, open.max_claimed, t.budget));
  }
  t.claimed -= open.bytes;
}

void BudgetLedger::allocation_failed(Attempt attempt) {
  std::lock_guard lock(mutex_);
  const OpenAttempt open = close(attempt);
  TierTally& t = tiers_[index_of(open.mode)];
  ++t.failures;
  t.claimed -= open.bytes;
}

void BudgetLedger::begin_free(MemoryMode mode, std::size_t bytes) {
  std::lock_guard lock(mutex_);
  TierTally& t = tiers_.at(index_of(mode));
  if (bytes > t.held) {
    violation(fmt::format("{}: freeing {} bytes while the ledger holds only {} (a test bug)", to_string(mode), bytes,
                          t.held));
    t.held = 0;
    return;
  }
  t.held -= bytes;
}

void BudgetLedger::end_free(MemoryMode mode, std::size_t bytes) {
  std::lock_guard lock(mutex_);
  TierTally& t = tiers_.at(index_of(mode));
  if (bytes > t.claimed) {
    violation(
        fmt::format("{}: {} bytes freed while only {} are claimed (a test bug)", to_string(mode), bytes, t.claimed));
    t.claimed = 0;
    return;
  }
  t.claimed -= bytes;
}

void BudgetLedger::cancel_free(MemoryMode mode, std::size_t bytes) {
  std::lock_guard lock(mutex_);
  TierTally& t = tiers_.at(index_of(mode));
  t.held += bytes;
  t.peak_held = std::max(t.peak_held, t.held);
}

void BudgetLedger::observe_runtime(MemoryMode mode, std::size_t budget_used, std::size_t current_bytes,
                                   std::size_t peak_bytes) {
  std::lock_guard lock(mutex_);
  TierTally& t = tiers_.at(index_of(mode));
  ++t.runtime_samples;
  t.runtime_peak_used = std::max({t.runtime_peak_used, budget_used, current_bytes});
  if (budget_used > t.budget || current_bytes > t.budget || peak_bytes > t.budget) {
    violation(
        fmt::format("{}: the runtime reports {} bytes used (statistics: {} current, {} peak), past the "
                    "budget of {}",
                    to_string(mode), budget_used, current_bytes, peak_bytes, t.budget));
  }
}

TierTally BudgetLedger::tally(MemoryMode mode) const {
  std::lock_guard lock(mutex_);
  return tiers_.at(index_of(mode));
}

std::vector<std::string> BudgetLedger::violations() const {
  std::lock_guard lock(mutex_);
  return violations_;
}

std::size_t BudgetLedger::open_attempts() const {
  std::lock_guard lock(mutex_);
  return open_.size();
}

}  // namespace ghtier::stress
