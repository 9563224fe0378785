// gather_auto: one gather entry point that asks the path chooser (gather_path_chooser.hpp) which way is fastest
// for this request on this machine and runs it, so that callers need not know that small rows from a large
// host table are translation-bound. The choice is returned, and counted in process-wide statistics.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "ghtier/kernels/cpu_gather_pipeline.hpp"
#include "ghtier/kernels/gather_calibration.hpp"
#include "ghtier/kernels/gather_path_chooser.hpp"
#include "ghtier/kernels/index_check.hpp"
#include "ghtier/kernels/row_cache.hpp"
#include "ghtier/memory/default_device_resource.hpp"
#include "ghtier/memory/memory_resource.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier {

/// What the caller knows beyond the arguments of gather(); every field may be left as it is.
struct GHTIER_API GatherAutoOptions {
  KeyDistributionHint keys = KeyDistributionHint::unknown;
  bool keys_sorted = false;  ///< the indices are ascending (then no path sorts them)
  /// A cache over this same table (same table pointer, row_bytes and num_rows: the caller must ensure the
  /// pointer, the rest is checked): makes the cached path possible. nullptr: no cache.
  RowCache* cache = nullptr;
  double cache_hit_rate = -1;  ///< expected share of requests the cache serves; negative: estimated
  /// CPU threads and pinned chunks for the cpu_pipelined path (any table the CPU reads); nullptr: that path
  /// is not offered.
  CpuGatherPipeline* pipeline = nullptr;
  /// The platform to decide for; nullptr: the current device's, detected once per device.
  const Platform* platform = nullptr;
  /// The rates to decide with; nullptr: the built-in record for the platform (gather_calibration_for).
  const GatherCalibration* calibration = nullptr;
  IndexCheck* check = nullptr;  ///< as in gather(): nullptr checks synchronously and throws
};

/// out[i] = table[indices[i]], the result of gather(), by the path choose_gather_path() predicts fastest for
/// this request: plain (gather), sorted (sorted_gather), cached (options.cache->gather) or cpu_pipelined
/// (options.pipeline->gather, offered only with a pipeline; it waits for `stream` first and returns when the
/// last chunk's copy is queued). Returns the choice with every path's prediction. The table's residency
/// (device, pinned or managed host, system) is read from CUDA; a system-memory table on plain PCIe can
/// only go through the pipeline.
/// Throws as gather() does (the arguments are checked before anything is decided), and
/// Error(invalid_argument) for a cache whose row_bytes or num_rows differ from the call's, an invalid
/// calibration or hint; Error(unsupported) where no path can reach the table. count == 0 makes no CUDA call
/// and returns a plain choice whose reason says so.
GHTIER_API GatherChoice gather_auto(const void* table, std::size_t row_bytes, std::size_t num_rows,
                                    const std::int64_t* indices, std::size_t count, void* out, cudaStream_t stream,
                                    const GatherAutoOptions& options = {},
                                    MemoryResource& resource = default_device_resource());
/// As above, with 32-bit indices.
GHTIER_API GatherChoice gather_auto(const void* table, std::size_t row_bytes, std::size_t num_rows,
                                    const std::int32_t* indices, std::size_t count, void* out, cudaStream_t stream,
                                    const GatherAutoOptions& options = {},
                                    MemoryResource& resource = default_device_resource());

/// How many gather_auto calls (count > 0) ran each path since the start or the last reset, by GatherPath.
struct GHTIER_API GatherAutoStatistics {
  std::array<std::uint64_t, gather_path_count> calls{};
  [[nodiscard]] std::uint64_t of(GatherPath path) const noexcept { return calls[static_cast<std::size_t>(path)]; }
};
[[nodiscard]] GHTIER_API GatherAutoStatistics gather_auto_statistics() noexcept;
GHTIER_API void reset_gather_auto_statistics() noexcept;

}  // namespace ghtier
