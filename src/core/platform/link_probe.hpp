// LinkProbe: measures one figure of a device's link model at a time, on buffers it owns. calibrate() measures
// every figure with it once; `ghtier bench` re-measures the figures its cases are compared with, between the
// cases, so that a ceiling is this run's and not one taken minutes earlier.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>

#include "ghtier/platform/link_model.hpp"

namespace ghtier::detail {

class LinkProbe {
 public:
  /// Allocates 2 x transfer_bytes of device and of pinned memory, a pageable buffer of up to 64 MiB and two
  /// streams on `device`. transfer_bytes: a multiple of 16, at least 1 MiB. Throws Error(invalid_argument),
  /// Error(no_device) without a GPU, or the CUDA error of an allocation (nothing is leaked then).
  LinkProbe(int device, std::size_t transfer_bytes);
  ~LinkProbe();
  LinkProbe(const LinkProbe&) = delete;
  LinkProbe& operator=(const LinkProbe&) = delete;

  /// The median of `repeats` (>= 1) timed runs after one untimed warm-up: GB/s, or microseconds for
  /// LinkFigure::latency (one 4 KiB pinned copy, queued to completed). The copy-engine figures move pinned
  /// memory; sm_read / sm_write are a kernel reading / writing pinned memory in place; hbm a kernel reading
  /// device memory. Throws the CUDA error of a failed call.
  [[nodiscard]] double measure(LinkFigure figure, int repeats);

  [[nodiscard]] int device() const noexcept;

 private:
  struct Resources;
  std::unique_ptr<Resources> resources_;
};

}  // namespace ghtier::detail
