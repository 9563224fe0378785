// StressCounters and the report's table and JSON.
#include "stress_report.hpp"

#include <fmt/format.h>

namespace ghtier::stress {

void StressCounters::done(StressOp kind, std::uint64_t bytes) noexcept {
  Slot& s = slots_[index_of(kind)];
  s.done.fetch_add(1, std::memory_order_relaxed);
  s.bytes.fetch_add(bytes, std::memory_order_relaxed);
}

void StressCounters::refused(StressOp kind) noexcept {
  slots_[index_of(kind)].refused.fetch_add(1, std::memory_order_relaxed);
}

KindCount StressCounters::count(StressOp kind) const noexcept {
  const Slot& s = slots_[index_of(kind)];
  return {s.done.load(std::memory_order_relaxed), s.refused.load(std::memory_order_relaxed),
          s.bytes.load(std::memory_order_relaxed)};
}

namespace {
double per_second(std::uint64_t n, double seconds) { return seconds > 0 ? static_cast<double>(n) / seconds : 0.0; }
std::string budget_text(std::size_t budget) {
  return budget == static_cast<std::size_t>(-1) ? std::string("none") : fmt::format("{}", budget);
}
}  // namespace

std::string format_report(const StressReport& r) {
  std::string out = fmt::format("stress: {} threads, {:.1f} s\n", r.threads, r.seconds);
  out += fmt::format("{:<10} {:>10} {:>10} {:>10} {:>10}\n", "operation", "done", "ops/s", "refused", "MB/s");
  std::uint64_t total = 0;
  for (StressOp kind : all_stress_ops) {
    const KindCount& k = r.kinds[index_of(kind)];
    total += k.done;
    out += fmt::format("{:<10} {:>10} {:>10.1f} {:>10} {:>10.1f}\n", to_string(kind), k.done,
                       per_second(k.done, r.seconds), k.refused, per_second(k.bytes, r.seconds) / 1e6);
  }
  out += fmt::format("{:<10} {:>10} {:>10.1f}\n", "all", total, per_second(total, r.seconds));
  out += fmt::format("{:<12} {:>12} {:>12} {:>12} {:>10} {:>12}\n", "tier", "budget B", "peak held B", "allocations",
                     "refusals", "runtime max");
  for (const auto& [mode, t] : r.tiers) {
    out += fmt::format("{:<12} {:>12} {:>12} {:>12} {:>10} {:>12}\n", to_string(mode), budget_text(t.budget),
                       t.peak_held, t.allocations, t.refusals, t.runtime_peak_used);
  }
  out += r.problems.empty() ? std::string("no problems\n") : fmt::format("{} problems\n", r.problems.size());
  return out;
}

nlohmann::ordered_json report_json(const StressReport& r) {
  nlohmann::ordered_json j;
  j["threads"] = r.threads;
  j["seconds"] = r.seconds;
  auto& kinds = j["operations"];
  kinds = nlohmann::ordered_json::object();
  for (StressOp kind : all_stress_ops) {
    const KindCount& k = r.kinds[index_of(kind)];
    kinds[std::string(to_string(kind))] = {{"done", k.done},
                                           {"ops_per_second", per_second(k.done, r.seconds)},
                                           {"refused", k.refused},
                                           {"bytes", k.bytes}};
  }
  auto& tiers = j["tiers"];
  tiers = nlohmann::ordered_json::object();
  for (const auto& [mode, t] : r.tiers) {
    nlohmann::ordered_json budget = nullptr;  // null: no budget
    if (t.budget != static_cast<std::size_t>(-1)) budget = t.budget;
    tiers[std::string(to_string(mode))] = {{"budget_bytes", budget},
                                           {"peak_held_bytes", t.peak_held},
                                           {"allocations", t.allocations},
                                           {"allocated_bytes", t.allocated_bytes},
                                           {"refusals", t.refusals},
                                           {"runtime_samples", t.runtime_samples},
                                           {"runtime_peak_used_bytes", t.runtime_peak_used}};
  }
  j["problems"] = r.problems;
  j["passed"] = r.problems.empty();
  return j;
}

}  // namespace ghtier::stress
