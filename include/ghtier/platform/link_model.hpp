// LinkModel: how fast bytes move between the CPU's memory and the GPU on one platform. Defaults come from
// a built-in profile; calibrate() measures the real device; save/load keep a calibration across runs.
#pragma once

#include "ghtier/export.h"

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace ghtier {

/// Bandwidths in GB/s (1e9 bytes per second), latency in microseconds.
struct GHTIER_API LinkModel {
  double h2d_gbps = 0;            ///< copy engine, pinned host -> device
  double d2h_gbps = 0;            ///< copy engine, device -> pinned host
  double bidirectional_gbps = 0;  ///< both directions at once, the two added
  double sm_read_gbps = 0;        ///< a kernel reading host memory in place (zero-copy)
  double sm_write_gbps = 0;       ///< a kernel writing host memory in place
  double pageable_h2d_gbps = 0;   ///< cudaMemcpyAsync from malloc'd memory
  double pageable_d2h_gbps = 0;   ///< cudaMemcpyAsync to malloc'd memory
  double hbm_gbps = 0;            ///< a kernel reading device memory
  double latency_us = 0;          ///< one small (4 KiB) pinned copy, queued to completed
  std::string source;             ///< where the figures come from: "profile gh200", "calibrated", a file

  /// Seconds that a copy-engine transfer of `bytes` takes: latency plus bytes over bandwidth.
  [[nodiscard]] double copy_seconds(std::size_t bytes, bool host_to_device) const noexcept;
  /// Throws Error(invalid_argument) naming the first figure that is not a positive finite number.
  void validate() const;
};

/// One figure of a LinkModel: what a link probe measures and what a benchmark is compared with.
enum class LinkFigure {
  h2d,            ///< h2d_gbps
  d2h,            ///< d2h_gbps
  bidirectional,  ///< bidirectional_gbps
  sm_read,        ///< sm_read_gbps
  sm_write,       ///< sm_write_gbps
  pageable_h2d,   ///< pageable_h2d_gbps
  pageable_d2h,   ///< pageable_d2h_gbps
  hbm,            ///< hbm_gbps
  latency,        ///< latency_us
};
/// Every figure, in the order of the fields of LinkModel.
inline constexpr LinkFigure all_link_figures[] = {
    LinkFigure::h2d,          LinkFigure::d2h,      LinkFigure::bidirectional,
    LinkFigure::sm_read,      LinkFigure::sm_write, LinkFigure::pageable_h2d,
    LinkFigure::pageable_d2h, LinkFigure::hbm,      LinkFigure::latency};

/// The JSON key of the figure's field: "h2d_gbps", ..., "latency_us".
[[nodiscard]] GHTIER_API std::string_view to_string(LinkFigure figure) noexcept;
/// The member of `link` that holds `figure` (a reference, so it can be set too).
[[nodiscard]] GHTIER_API double& figure_of(LinkModel& link, LinkFigure figure) noexcept;
[[nodiscard]] GHTIER_API double figure_of(const LinkModel& link, LinkFigure figure) noexcept;

/// JSON object with one key per field (e.g. {"h2d_gbps": 55.0, ...}).
[[nodiscard]] GHTIER_API std::string to_json(const LinkModel& link);
/// Parses what to_json wrote; throws Error(invalid_argument) naming a missing or malformed key.
[[nodiscard]] GHTIER_API LinkModel link_model_from_json(std::string_view json);
/// Writes to_json(link) to path; throws Error(io_error).
GHTIER_API void save_link_model(const LinkModel& link, const std::filesystem::path& path);
/// Reads a file written by save_link_model; throws Error(io_error) or Error(invalid_argument).
[[nodiscard]] GHTIER_API LinkModel load_link_model(const std::filesystem::path& path);

struct GHTIER_API CalibrationOptions {
  double time_budget_seconds = 2.0;         ///< the whole calibration stays under this
  std::size_t transfer_bytes = 256u << 20;  ///< size of each timed transfer
};

/// Measures the link of `device` (copy engine both ways and at once, SM read/write of pinned memory,
/// pageable copies, HBM read, small-copy latency). Needs a GPU; throws Error(no_device) without one.
[[nodiscard]] GHTIER_API LinkModel calibrate(int device, const CalibrationOptions& options = {});

}  // namespace ghtier
