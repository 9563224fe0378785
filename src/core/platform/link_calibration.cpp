// calibrate(): measures the link model of a real device in well under two seconds with LinkProbe (CUDA
// events, median of a few repeats, on buffers large enough to reach the copy engines' plateau).
#include <chrono>

#include "core/platform/link_probe.hpp"
#include "core/support/nvtx_range.hpp"
#include "ghtier/platform/link_model.hpp"

namespace ghtier {

LinkModel calibrate(int device, const CalibrationOptions& options) {
  detail::NvtxRange range("ghtier::calibrate", options.transfer_bytes);
  const auto started = std::chrono::steady_clock::now();
  auto over_budget = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() >
           options.time_budget_seconds * 0.8;
  };
  detail::LinkProbe probe(device, options.transfer_bytes);  // validates the options and the device
  const int repeats = 3;
  LinkModel link;
  link.source = "calibrated";
  for (LinkFigure figure : all_link_figures) {
    int figure_repeats = repeats;
    if (figure == LinkFigure::latency) figure_repeats = 21;  // tiny copies: cheap, and noisier
    // Pageable copies are the slow ones: once each when the budget is tight.
    if ((figure == LinkFigure::pageable_h2d || figure == LinkFigure::pageable_d2h) && over_budget()) figure_repeats = 1;
    figure_of(link, figure) = probe.measure(figure, figure_repeats);
  }
  link.validate();
  return link;
}

}  // namespace ghtier
