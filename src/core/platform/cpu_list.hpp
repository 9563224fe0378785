// The kernel's CPU list format ("0-3,8,10-11", as in /sys/devices/system/node/nodeN/cpulist): parsed into
// CPU ids and written back, so that NUMA placement decisions work on plain sets of CPUs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ghtier::detail {

/// Largest CPU id accepted (the kernel's NR_CPUS is at most 8192).
inline constexpr int max_cpu_id = 8191;

/// Parses a CPU list: comma-separated ids and inclusive ranges "a-b" (a <= b), surrounding whitespace and a
/// final newline allowed; "" (or only whitespace) is the empty list (a memory-only NUMA node). Returns the ids
/// sorted, each once. Throws Error(invalid_argument) naming `what` and the offending piece for anything else:
/// a non-number, a negative id or one past max_cpu_id, a reversed range, an empty item ("1,,2").
[[nodiscard]] std::vector<int> parse_cpu_list(std::string_view text, std::string_view what = "CPU list");

/// The shortest CPU list for `cpus` (any order, repeats allowed): "0-3,8"; "" for none.
[[nodiscard]] std::string format_cpu_list(std::vector<int> cpus);

}  // namespace ghtier::detail
