// parse_cpu_list and format_cpu_list.
#include "core/platform/cpu_list.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

int parse_cpu_id(std::string_view piece, std::string_view item, std::string_view what) {
  const std::string_view digits = trim(piece);
  int value = -1;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || error != std::errc{} || end != digits.data() + digits.size()) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: \"{}\" is not a CPU id or a range a-b of them", what, item));
  }
  if (value < 0 || value > max_cpu_id) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: CPU id {} in \"{}\" is out of range (0..{})", what, value, item, max_cpu_id));
  }
  return value;
}

}  // namespace

std::vector<int> parse_cpu_list(std::string_view text, std::string_view what) {
  std::vector<int> cpus;
  const std::string_view list = trim(text);
  if (list.empty()) return cpus;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = list.find(',', start);
    const std::string_view item = trim(list.substr(start, comma == std::string_view::npos ? list.npos : comma - start));
    if (item.empty()) {
      throw_error(ErrorCode::invalid_argument, fmt::format("{}: empty item in \"{}\"", what, list));
    }
    const std::size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      cpus.push_back(parse_cpu_id(item, item, what));
    } else {
      const int first = parse_cpu_id(item.substr(0, dash), item, what);
      const int last = parse_cpu_id(item.substr(dash + 1), item, what);
      if (last < first) {
        throw_error(ErrorCode::invalid_argument, fmt::format("{}: range \"{}\" runs backwards", what, item));
      }
      for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string format_cpu_list(std::vector<int> cpus) {
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? fmt::format("{}", cpus[i]) : fmt::format("{}-{}", cpus[i], cpus[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace ghtier::detail
