// The Markdown printer of the resolution table: resolves every request kind on every profile with the code
// under test and merges rows whose answers agree, so the doc stays short and complete.
#include "policy_table_printer.hpp"

#include <array>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ghtier/policy/builtin_policy.hpp"

namespace ghtier::test {

namespace {

constexpr std::array<const char*, 3> profiles{"gh200", "x86-h100-hmm", "x86-h100-pcie"};
constexpr std::array<Accessor, 3> accessors{Accessor::gpu, Accessor::cpu, Accessor::both};
constexpr std::array<AccessFrequency, 4> frequencies{AccessFrequency::hot, AccessFrequency::warm, AccessFrequency::cold,
                                                     AccessFrequency::streamed_once};

// One request kind's answers on the three profiles.
using Row = std::array<std::string, 3>;

// The size/budget situations: size below or at/above the 64 MiB threshold, device budget with or without room.
struct Situation {
  bool large;
  bool past_budget;
};

std::string frequency_label(const std::vector<std::pair<AccessFrequency, bool>>& combos) {
  if (combos.size() == frequencies.size() * 2) return "any";
  std::vector<std::string> parts;
  for (AccessFrequency f : frequencies) {
    bool plain = false;
    bool read_mostly = false;
    for (const auto& [cf, rm] : combos) {
      if (cf != f) continue;
      (rm ? read_mostly : plain) = true;
    }
    if (plain && read_mostly) {
      parts.emplace_back(to_string(f));
    } else if (read_mostly) {
      parts.push_back(fmt::format("{} + read-mostly", to_string(f)));
    } else if (plain) {
      parts.push_back(fmt::format("{}, not read-mostly", to_string(f)));
    }
  }
  std::string label;
  for (const std::string& p : parts) label += (label.empty() ? "" : "; ") + p;
  return label;
}

// For one policy, accessor and situation: the request kinds grouped by identical rows, in first-seen order.
std::vector<std::pair<std::string, Row>> grouped_rows(const TierPolicy& policy, Accessor accessor, Situation s) {
  std::vector<std::pair<Row, std::vector<std::pair<AccessFrequency, bool>>>> groups;
  for (AccessFrequency f : frequencies) {
    for (bool rm : {false, true}) {
      const std::size_t bytes = s.large ? std::size_t{1} << 30 : std::size_t{4} << 10;
      const PlacementRequest request{bytes, accessor, f, rm, ""};
      BudgetView budget;
      budget.device_free = s.past_budget ? 0 : unlimited_bytes;
      Row row;
      for (std::size_t i = 0; i < profiles.size(); ++i) {
        row[i] = describe(policy.resolve(request, assume_platform(profiles[i]), budget));
      }
      auto it = groups.begin();
      for (; it != groups.end(); ++it) {
        if (it->first == row) break;
      }
      if (it == groups.end()) {
        groups.push_back({row, {{f, rm}}});
      } else {
        it->second.push_back({f, rm});
      }
    }
  }
  std::vector<std::pair<std::string, Row>> out;
  for (const auto& [row, combos] : groups) out.emplace_back(frequency_label(combos), row);
  return out;
}

}  // namespace

std::string policy_resolution_table() {
  std::string md;
  for (BuiltinPolicy kind : all_builtin_policies) {
    const auto policy = make_builtin_policy(kind);
    md += fmt::format("#### `{}`\n\n", to_string(kind));
    md += "| accessor | size, device budget | frequency | gh200 | x86-h100-hmm | x86-h100-pcie |\n";
    md += "| --- | --- | --- | --- | --- | --- |\n";
    for (Accessor accessor : accessors) {
      std::map<std::pair<bool, bool>, std::vector<std::pair<std::string, Row>>> by_situation;
      for (bool large : {false, true}) {
        for (bool past : {false, true}) by_situation[{large, past}] = grouped_rows(*policy, accessor, {large, past});
      }
      const bool budget_matters = by_situation[{false, false}] != by_situation[{false, true}] ||
                                  by_situation[{true, false}] != by_situation[{true, true}];
      const bool size_matters = by_situation[{false, false}] != by_situation[{true, false}] ||
                                by_situation[{false, true}] != by_situation[{true, true}];
      for (bool large : {false, true}) {
        if (!size_matters && large) continue;
        for (bool past : {false, true}) {
          if (!budget_matters && past) continue;
          std::string situation;
          if (size_matters) situation = large ? ">= 64 MiB" : "< 64 MiB";
          if (budget_matters) {
            situation += situation.empty() ? "" : ", ";
            situation += past ? "past the budget" : "within the budget";
          }
          if (situation.empty()) situation = "any";
          for (const auto& [frequency, row] : by_situation[{large, past}]) {
            md += fmt::format("| {} | {} | {} | {} | {} | {} |\n", to_string(accessor), situation, frequency, row[0],
                              row[1], row[2]);
          }
        }
      }
    }
    md += "\n";
  }
  return md;
}

}  // namespace ghtier::test
