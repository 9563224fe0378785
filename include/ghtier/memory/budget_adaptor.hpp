// BudgetAdaptor: a byte limit over any MemoryResource. An allocation that would pass the limit fails with
// Error(out_of_budget) before the upstream is asked, so a tier's budget holds even under many threads.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <atomic>
#include <cstddef>

#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

/// Counts the bytes requested (not the upstream's rounding) of live allocations against a limit.
/// Thread-safe: the check and the reservation of the bytes are one atomic step. The upstream must outlive
/// the adaptor.
class GHTIER_API BudgetAdaptor final : public MemoryResource {
 public:
  /// `limit` in bytes (0 is allowed: every allocation fails until set_limit raises it).
  BudgetAdaptor(MemoryResource& upstream, std::size_t limit) noexcept : upstream_(upstream), limit_(limit) {}
  BudgetAdaptor(const BudgetAdaptor&) = delete;
  BudgetAdaptor& operator=(const BudgetAdaptor&) = delete;

  /// Changes the limit at run time. Lowering it below used() frees nothing: later allocations fail until
  /// enough is freed.
  void set_limit(std::size_t limit) noexcept { limit_.store(limit, std::memory_order_relaxed); }
  [[nodiscard]] std::size_t limit() const noexcept { return limit_.load(std::memory_order_relaxed); }
  /// Bytes of live allocations made through this adaptor.
  [[nodiscard]] std::size_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
  /// limit() - used(), or 0 when the limit was lowered below the usage.
  [[nodiscard]] std::size_t available() const noexcept;
  [[nodiscard]] MemoryResource& upstream() const noexcept { return upstream_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) override;
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                     bool synchronous) noexcept override;
  [[nodiscard]] MemoryMode do_mode() const noexcept override { return upstream_.mode(); }

  MemoryResource& upstream_;
  std::atomic<std::size_t> limit_;
  std::atomic<std::size_t> used_{0};
};

}  // namespace ghtier
