// GatherCalibration: the per-machine rates that the gather path chooser (gather_path_chooser.hpp) predicts
// from. Random row gathers from a large host table are bound by the GPU's address translation, not the link,
// so no link figure alone predicts them: these rates are measured per machine (or derived, and said so).
#pragma once

#include "ghtier/export.h"

#include <cstddef>
#include <string>
#include <vector>

#include "ghtier/platform/platform.hpp"

namespace ghtier {

/// A table of rates (GB/s of requested rows delivered) over row width classes x table size classes, both
/// ascending: gbps[r * table_bytes.size() + t] is the rate for rows of row_bytes[r] from a table of
/// table_bytes[t]. Between classes the rate is interpolated in log(row), log(table), log(rate); beyond the
/// largest class it is held; below the smallest table class it is held; below the smallest row class the
/// rate falls with the row width (the row rate holds: small rows are bound by requests, not bytes).
struct GHTIER_API RateGrid {
  std::vector<std::size_t> row_bytes;
  std::vector<std::size_t> table_bytes;
  std::vector<double> gbps;

  /// The interpolated rate (GB/s). Pure. The grid must be valid (validate()).
  [[nodiscard]] double at(std::size_t row, std::size_t table) const noexcept;
  /// Throws Error(invalid_argument) naming `what` for an empty or unsorted axis, a size mismatch or a rate
  /// that is not a positive finite number.
  void validate(const char* what) const;
};

/// Rates of one machine for each way of gathering rows, as measured by the `gather/` benchmark suite (or
/// derived from another machine's record and published figures: `derived` says so).
struct GHTIER_API GatherCalibration {
  std::string source;    ///< machine, date and how the figures were obtained
  bool derived = false;  ///< true: not measured on that machine, computed from other figures

  /// ghtier::gather from pinned host memory, uniform random keys, whole call (launch included), at
  /// batches of `batch_bytes` requested bytes.
  RateGrid plain;
  /// ghtier::sorted_gather's in-order reads of the distinct rows, in GB/s of rows read (not requested): its
  /// measured time less the sort (below), over the distinct rows the keys held; uniform (and unknown) keys.
  RateGrid sorted;
  /// The same for skewed keys: their distinct rows (the hot head and a scattered tail) read slower than as
  /// many uniform ones from large tables (8 GiB, 64 B: 4.3 against 7.7 GB/s).
  RateGrid sorted_skewed;
  std::size_t batch_bytes = 0;  ///< requested bytes per call at which the grids were measured

  /// Skewed (Zipf-like) keys revisit hot rows and pages: plain's rate is multiplied by this where it is
  /// below `link_gbps` (translation-bound), never above it.
  double skewed_plain_gain = 1.0;
  double link_gbps = 0;  ///< a kernel streaming host memory in place (the ceiling of direct reads)

  /// The sort of sorted_gather: fixed cost per call and per key (CUB radix sort, run starts, scans).
  double sort_fixed_us = 0;
  double sort_ns_per_key = 0;
  double launch_us = 0;  ///< fixed cost of one gather launch with its index check record

  /// RowCache: hits read from HBM at cache_hit_gbps; misses at the rate of `cache_miss` (uniform and unknown
  /// keys) or `cache_skewed_miss` (skewed keys: the Zipf tail), GB/s of missed rows. Both are back-computed
  /// from the cache's measured effective rate and hit rate: miss = (1 - hit) / (1 / effective - hit /
  /// cache_hit_gbps). They hold the cache's own costs (the slot-map lookup before each host read), which is
  /// why uniform misses run below plain's rate where plain is translation-bound (0.88-0.9x at 8 GiB, 64 and
  /// 128 B rows) and skewed ones far below the link at 8 GiB (2-6 GB/s at 64-128 B).
  double cache_hit_gbps = 0;
  RateGrid cache_miss;
  RateGrid cache_skewed_miss;

  /// CPU threads gathering rows host to host, by row width and table size.
  RateGrid cpu_gather;
  double copy_gbps = 0;  ///< copy engine, pinned host -> device
  /// Host memory traffic that the CPU gather (a read and a write per byte) and the DMA reading the staging
  /// buffer (a read) share when they run at once: the pipeline's rate is at most a third of it.
  double host_memory_gbps = 0;
  /// The pipeline's rate over min(CPU gather, copy, host memory / 3): chunk hand-offs, the first chunk's
  /// latency, threads waking.
  double pipeline_efficiency = 1.0;
  double pipeline_fixed_us = 0;  ///< per call: waking the threads, the last chunk's copy latency

  /// Bytes one GPU translation maps for pinned memory (2 MiB) and for system memory (the CPU's page, 4 or
  /// 64 KiB): a system-memory table of S bytes is read like a pinned table of S * pinned / system bytes.
  std::size_t pinned_page_bytes = std::size_t{2} << 20;
  std::size_t system_page_bytes = std::size_t{64} << 10;
  /// A gather from a table in device memory (HBM, random rows).
  double device_gather_gbps = 0;

  /// Throws Error(invalid_argument) naming the first field that is missing, not positive or not finite.
  void validate() const;
};

/// The x86 + H200 over PCIe Gen5 GPU machine, measured by the `gather/` suite (the quick run of 2026-12-04;
/// the 1 GiB and 2 GiB table classes, which that run has no point for, from the runs of 2026-12-03 and the
/// x86 + H100 run of 2026-11-28; the record's comments say which).
[[nodiscard]] GHTIER_API const GatherCalibration& pcie_h200_gather_calibration();
/// GH200, derived (not measured): the PCIe record's translation behaviour with the published NVLink-C2C
/// rates (about 6.6x the direct-read rate, 7x the copy rate).
[[nodiscard]] GHTIER_API const GatherCalibration& gh200_gather_calibration();
/// The built-in record for a platform: gh200's for coherent C2C, the PCIe machine's otherwise.
[[nodiscard]] GHTIER_API const GatherCalibration& gather_calibration_for(const Platform& platform);

}  // namespace ghtier
