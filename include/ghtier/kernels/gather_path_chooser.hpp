// choose_gather_path: which way of gathering rows is fastest for one request on one machine (plain in-place
// reads, sorted reads, the hot-row cache, or CPU threads gathering into pinned chunks that the copy engine
// moves), by a cost model over a GatherCalibration. Pure: tested on the CPU for every platform profile.
#pragma once

#include "ghtier/export.h"

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "ghtier/kernels/gather_calibration.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier {

/// The ways to gather rows; the order is that of GatherChoice::estimates.
enum class GatherPath {
  plain,          ///< ghtier::gather: each requested row read in place
  sorted,         ///< ghtier::sorted_gather: indices sorted on the GPU, each distinct row read once, in order (the link
                  ///< carries only the distinct rows: for tables small against the key count, a fraction of the bytes)
  cached,         ///< RowCache::gather: hot rows from HBM, the rest read in place
  cpu_pipelined,  ///< CPU threads gather rows into pinned chunks while the copy engine moves the previous one
};
inline constexpr std::size_t gather_path_count = 4;

/// What the caller knows about the keys' distribution.
enum class KeyDistributionHint {
  unknown,  ///< modelled as uniform (the case where nothing repeats)
  uniform,
  skewed,  ///< Zipf-like: a few rows take most requests (recommender ids)
};

/// Where the table lives.
enum class TableResidency {
  pinned_host,  ///< cudaHostAlloc / cudaHostRegister / a pinned pool (also managed memory left on the host)
  system,       ///< malloc / mmap: the GPU reads it only through ATS/HMM
  device,       ///< HBM
};

[[nodiscard]] GHTIER_API std::string_view to_string(GatherPath path) noexcept;
[[nodiscard]] GHTIER_API std::string_view to_string(KeyDistributionHint hint) noexcept;
[[nodiscard]] GHTIER_API std::string_view to_string(TableResidency residency) noexcept;

/// One gather, described by plain values.
struct GHTIER_API GatherRequest {
  std::size_t row_bytes = 0;
  std::size_t table_bytes = 0;  ///< the part of the table the keys range over
  std::size_t count = 0;        ///< keys in this call
  std::size_t index_bytes = 8;  ///< 4 or 8
  KeyDistributionHint keys = KeyDistributionHint::unknown;
  bool keys_sorted = false;   ///< keys already ascending: in-place reads run in address order
  bool keys_on_host = false;  ///< the CPU can read the keys without a copy (else the pipeline copies them)
  TableResidency residency = TableResidency::pinned_host;
  /// RowCache over the table: cached rows (0: no cache, the cached path is unavailable) and the expected
  /// hit rate in [0, 1]; a negative rate is estimated from `keys` (uniform: cached share of the rows; skewed:
  /// Zipf(1) ranks, the cache holding the hottest).
  std::size_t cache_rows = 0;
  double cache_hit_rate = -1;
  bool pipeline_available = true;  ///< false: the caller cannot run cpu_pipelined (never chosen then)
};

/// The prediction for one path.
struct GHTIER_API GatherPathEstimate {
  GatherPath path = GatherPath::plain;
  bool available = false;  ///< whether this path can serve the request at all
  double gbps = 0;         ///< predicted GB/s of requested rows delivered (0 when unavailable)
  double seconds = 0;      ///< predicted time of the call (0 when unavailable)
  std::string note;        ///< how the figure was obtained, or why the path is unavailable
};

/// The chooser's answer: the fastest available path, every path's prediction, and why.
struct GHTIER_API GatherChoice {
  GatherPath path = GatherPath::plain;
  std::array<GatherPathEstimate, gather_path_count> estimates;  ///< indexed by GatherPath
  std::string reason;

  [[nodiscard]] const GatherPathEstimate& estimate(GatherPath p) const noexcept {
    return estimates[static_cast<std::size_t>(p)];
  }
  /// The chosen path's predicted rate.
  [[nodiscard]] double predicted_gbps() const noexcept { return estimate(path).gbps; }
};

/// The expected number of distinct rows among `keys` keys drawn from `rows` rows: rows (1 - exp(-keys / rows))
/// for uniform (and unknown) keys; for skewed ones, Zipf(1) over the rows (the hottest ranks summed, the tail
/// integrated), never more than for uniform keys. Pure; 0 when either is 0.
[[nodiscard]] GHTIER_API double expected_distinct_rows(std::size_t rows, std::size_t keys,
                                                       KeyDistributionHint hint) noexcept;

/// Pure: predicts every path for `request` on `platform` with `calibration` and picks the fastest available
/// one (ties to the earlier path in GatherPath's order: fewer moving parts). Rules besides the rates:
/// a device-resident table only reads in place (plain); a system-memory table is read by the GPU only where
/// platform.gpu_reads_pageable; the CPU pipeline needs a host table and pipeline_available; the cache needs
/// cache_rows > 0; already sorted keys make sorting pointless.
/// Throws Error(invalid_argument) for a zero row width, table size or count, an index width other than 4
/// or 8, a cache hit rate above 1, cache_rows above the table's rows, or an invalid calibration;
/// Error(unsupported) when no path can serve the request (a system-memory table on plain PCIe without the
/// pipeline).
[[nodiscard]] GHTIER_API GatherChoice choose_gather_path(const GatherRequest& request, const Platform& platform,
                                                         const GatherCalibration& calibration);

}  // namespace ghtier
