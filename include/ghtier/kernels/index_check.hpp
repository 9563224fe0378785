// IndexCheck: a record in GPU memory of the out-of-range indices that gathers and scatters met, so that
// index validation costs the kernels one compare and needs no synchronisation until the caller asks.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstdint>

#include "ghtier/memory/default_device_resource.hpp"
#include "ghtier/memory/device_buffer.hpp"

namespace ghtier {

/// Index-checked kernels (gather, sorted_gather, scatter, RowCache::gather) never touch a row whose index
/// is negative or at least the table's row count: a gather writes zeros for it, a scatter skips it, and the
/// kernel notes it here. Without an IndexCheck argument such a call checks by itself: it waits for its
/// stream and throws Error(invalid_argument). With one, the call stays asynchronous and the caller checks
/// when it wants to (once per batch, say; always under CUDA graph capture, where waiting is not allowed).
/// One IndexCheck may serve many calls and streams on one device; the first bad index recorded is the one
/// reported.
class GHTIER_API IndexCheck {
 public:
  /// Allocates the record (device-wide, cleared) from `resource` on the current device. Throws Error:
  /// out_of_budget, out_of_memory (from the resource), invalid_argument (a system-memory resource),
  /// cuda_error.
  explicit IndexCheck(MemoryResource& resource = default_device_resource());
  /// Waits for the device (work may still write the record) and gives the record back to its resource.
  ~IndexCheck() = default;
  IndexCheck(IndexCheck&& other) noexcept = default;
  IndexCheck& operator=(IndexCheck&& other) noexcept = default;
  IndexCheck(const IndexCheck&) = delete;
  IndexCheck& operator=(const IndexCheck&) = delete;

  /// Clears the record, in the order of `stream`.
  void reset(cudaStream_t stream);
  /// Waits for `stream`; if an index was out of range since construction or the last reset, clears the
  /// record and throws Error(invalid_argument) with how many were, the first one's position in its call,
  /// its value and the table's row count. Throws Error(cuda_error) if waiting fails.
  void check(cudaStream_t stream);
  /// Waits for `stream` and returns how many out-of-range indices were recorded (the record is kept).
  [[nodiscard]] std::uint64_t bad_index_count(cudaStream_t stream) const;

  /// The device-side record that kernels write (an internal layout; for ghtier's own launchers).
  [[nodiscard]] void* device_record() const noexcept { return record_.data(); }

 private:
  DeviceBuffer record_;
};

}  // namespace ghtier
