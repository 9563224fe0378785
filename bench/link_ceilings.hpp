// Which measured link ceiling a benchmark case is compared with, when that ceiling is measured again, and what
// the case's ratio to it says. Pure, tested in CI (tests/tools/link_ceilings_test.cpp); the measuring itself
// is bench_suite.cpp's measured_ceiling() over the platform layer's link probe.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "ghtier/platform/link_model.hpp"

namespace ghtier::bench {

/// A case above this multiple of its ceiling is `suspect`: no path beats the link it runs over, so either the
/// ceiling was measured badly or the case counts bytes it does not move. 5% leaves room for timing noise.
inline constexpr double suspect_ratio = 1.05;

/// The case's ratio to its ceiling and whether that ratio is suspect.
struct CeilingVerdict {
  double ratio = 0;  ///< measured / ceiling; 0 where there is no ceiling (ceiling <= 0) or no measurement
  bool suspect = false;
};
/// measured_gbps over ceiling_gbps; suspect when the ratio exceeds suspect_ratio. A ceiling that is not a
/// positive finite number gives ratio 0, not suspect (no ceiling applies).
[[nodiscard]] CeilingVerdict judge_against_ceiling(double measured_gbps, double ceiling_gbps) noexcept;

/// Where the bytes a case moves sit, as the GPU reaches them.
enum class CaseMemory {
  device,       ///< HBM: the kernel's own speed
  pinned_host,  ///< CPU memory the GPU reads or writes in place (zero-copy over PCIe or C2C)
  cpu_only,     ///< the CPU does the work: no GPU link is involved
};
/// The ceiling of a kernel that reads (or writes) memory in place: hbm for device memory, sm_read / sm_write
/// for pinned host memory; nullopt for CPU-only work, which is never compared with a GPU link ceiling.
[[nodiscard]] std::optional<LinkFigure> direct_access_ceiling(CaseMemory memory, bool writes) noexcept;
/// The ceiling of a copy-engine copy of pinned memory: h2d or d2h.
[[nodiscard]] LinkFigure copy_ceiling(bool host_to_device) noexcept;

/// "SM read of pinned memory (sm_read_gbps, measured in this run)": the label of a case held against it.
[[nodiscard]] std::string describe_ceiling(LinkFigure figure);

/// When each ceiling is measured again: a ceiling is due when it has never been measured in this run, or when
/// `refresh_every` cases have used it since its last measurement. So every case is compared with a ceiling
/// taken at most that many cases before it, and each suite's first case measures its own.
class CeilingSchedule {
 public:
  /// refresh_every >= 1 (smaller values are taken as 1).
  explicit CeilingSchedule(int refresh_every) noexcept;
  /// Whether `figure` must be measured before the next case uses it.
  [[nodiscard]] bool due(LinkFigure figure) const noexcept;
  /// Records a measurement (resets the count of uses since).
  void measured(LinkFigure figure, double value) noexcept;
  /// Records that a case used the current value; returns that value (0 when never measured).
  double use(LinkFigure figure) noexcept;
  /// Forgets every measurement (a new run).
  void reset() noexcept;

 private:
  struct Entry {
    bool measured = false;
    double value = 0;
    int uses_since = 0;
  };
  [[nodiscard]] static std::size_t index(LinkFigure figure) noexcept;
  int refresh_every_;
  std::array<Entry, std::size(all_link_figures)> entries_{};
};

}  // namespace ghtier::bench
