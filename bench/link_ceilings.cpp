// The decisions about ceilings: verdicts, which figure applies, the re-measuring schedule.
#include "link_ceilings.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace ghtier::bench {

CeilingVerdict judge_against_ceiling(double measured_gbps, double ceiling_gbps) noexcept {
  if (!std::isfinite(ceiling_gbps) || ceiling_gbps <= 0 || !std::isfinite(measured_gbps) || measured_gbps <= 0) {
    return {};
  }
  const double ratio = measured_gbps / ceiling_gbps;
  return {ratio, ratio > suspect_ratio};
}

std::optional<LinkFigure> direct_access_ceiling(CaseMemory memory, bool writes) noexcept {
  switch (memory) {
    case CaseMemory::device: return LinkFigure::hbm;
    case CaseMemory::pinned_host: return writes ? LinkFigure::sm_write : LinkFigure::sm_read;
    case CaseMemory::cpu_only: return std::nullopt;
  }
  return std::nullopt;
}

LinkFigure copy_ceiling(bool host_to_device) noexcept { return host_to_device ? LinkFigure::h2d : LinkFigure::d2h; }

std::string describe_ceiling(LinkFigure figure) {
  const char* what = "";
  switch (figure) {
    case LinkFigure::h2d: what = "copy engine H2D of pinned memory"; break;
    case LinkFigure::d2h: what = "copy engine D2H of pinned memory"; break;
    case LinkFigure::bidirectional: what = "copy engines H2D + D2H at once"; break;
    case LinkFigure::sm_read: what = "SM read of pinned memory"; break;
    case LinkFigure::sm_write: what = "SM write of pinned memory"; break;
    case LinkFigure::pageable_h2d: what = "cudaMemcpyAsync H2D from pageable memory"; break;
    case LinkFigure::pageable_d2h: what = "cudaMemcpyAsync D2H to pageable memory"; break;
    case LinkFigure::hbm: what = "HBM read"; break;
    case LinkFigure::latency: what = "one 4 KiB pinned copy"; break;
  }
  return fmt::format("{} ({}, measured in this run)", what, to_string(figure));
}

CeilingSchedule::CeilingSchedule(int refresh_every) noexcept : refresh_every_(std::max(refresh_every, 1)) {}

std::size_t CeilingSchedule::index(LinkFigure figure) noexcept {
  const auto* it = std::find(std::begin(all_link_figures), std::end(all_link_figures), figure);
  return static_cast<std::size_t>(it - std::begin(all_link_figures));
}

bool CeilingSchedule::due(LinkFigure figure) const noexcept {
  const Entry& e = entries_[index(figure)];
  return !e.measured || e.uses_since >= refresh_every_;
}

void CeilingSchedule::measured(LinkFigure figure, double value) noexcept { entries_[index(figure)] = {true, value, 0}; }

double CeilingSchedule::use(LinkFigure figure) noexcept {
  Entry& e = entries_[index(figure)];
  ++e.uses_since;
  return e.measured ? e.value : 0;
}

void CeilingSchedule::reset() noexcept { entries_ = {}; }

}  // namespace ghtier::bench
