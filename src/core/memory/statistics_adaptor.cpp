// StatisticsAdaptor: one small critical section per call keeps every snapshot consistent (current <= peak,
// counts matching bytes); it is short next to any upstream allocation.
#include "ghtier/memory/statistics_adaptor.hpp"

#include <algorithm>

namespace ghtier {

AllocationStatistics StatisticsAdaptor::statistics() const {
  std::lock_guard lock(mutex_);
  AllocationStatistics snapshot = counters_;
  snapshot.mode = upstream_.mode();
  return snapshot;
}

void StatisticsAdaptor::reset_peak() {
  std::lock_guard lock(mutex_);
  counters_.peak_bytes = counters_.current_bytes;
}

void* StatisticsAdaptor::do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) {
  void* p = nullptr;
  try {
    p = synchronous ? upstream_.allocate(bytes, alignment) : upstream_.allocate_async(bytes, alignment, stream);
  } catch (...) {
    std::lock_guard lock(mutex_);
    ++counters_.failed_allocations;
    throw;
  }
  std::lock_guard lock(mutex_);
  counters_.current_bytes += bytes;
  counters_.peak_bytes = std::max(counters_.peak_bytes, counters_.current_bytes);
  ++counters_.current_allocations;
  ++counters_.total_allocations;
  counters_.total_bytes += bytes;
  return p;
}

void StatisticsAdaptor::do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                                      bool synchronous) noexcept {
  if (p == nullptr) return;
  {
    // Counted before the upstream frees it, so a thread that gets the memory back next never sees it twice.
    std::lock_guard lock(mutex_);
    counters_.current_bytes -= std::min(bytes, counters_.current_bytes);
    if (counters_.current_allocations > 0) --counters_.current_allocations;
  }
  if (synchronous) {
    upstream_.deallocate(p, bytes, alignment);
  } else {
    upstream_.deallocate_async(p, bytes, alignment, stream);
  }
}

}  // namespace ghtier
