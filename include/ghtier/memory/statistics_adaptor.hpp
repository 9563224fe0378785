// StatisticsAdaptor: counts what passes through any MemoryResource (current, peak, count, total), so each
// tier can say how much it holds and held at most; a snapshot is one consistent struct.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <mutex>

#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

/// One tier's counters at one instant (bytes are the sizes requested).
struct GHTIER_API AllocationStatistics {
  MemoryMode mode = MemoryMode::device;  ///< the tier these counters belong to
  std::size_t current_bytes = 0;         ///< live bytes now
  std::size_t peak_bytes = 0;            ///< most live bytes at any instant (since creation or reset_peak)
  std::size_t current_allocations = 0;   ///< live allocations now
  std::uint64_t total_allocations = 0;   ///< successful allocations ever
  std::uint64_t total_bytes = 0;         ///< bytes allocated ever
  std::uint64_t failed_allocations = 0;  ///< allocations the upstream refused (threw)
};

/// Records every allocation and deallocation made through it; the upstream must outlive the adaptor.
/// Thread-safe; statistics() is a consistent snapshot.
class GHTIER_API StatisticsAdaptor final : public MemoryResource {
 public:
  explicit StatisticsAdaptor(MemoryResource& upstream) noexcept : upstream_(upstream) {}
  StatisticsAdaptor(const StatisticsAdaptor&) = delete;
  StatisticsAdaptor& operator=(const StatisticsAdaptor&) = delete;

  /// The counters now, with mode = upstream().mode().
  [[nodiscard]] AllocationStatistics statistics() const;
  /// Sets the peak to the current usage (e.g. at the start of a phase to measure).
  void reset_peak();
  [[nodiscard]] MemoryResource& upstream() const noexcept { return upstream_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) override;
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                     bool synchronous) noexcept override;
  [[nodiscard]] MemoryMode do_mode() const noexcept override { return upstream_.mode(); }

  MemoryResource& upstream_;
  mutable std::mutex mutex_;
  AllocationStatistics counters_;
};

}  // namespace ghtier
