// Launchers of the RowCache kernels: the cached gather (row_copy.cuh shapes, each row looked up in the slot
// table first) and the request counter behind RowCache::record. Validation is in row_cache.cpp.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cuda/index_fault.hpp"
#include "cuda/row_copy_plan.hpp"
#include "cuda/row_slot_table.hpp"

namespace ghtier::detail {

/// What the cached gather reads: the table, the cached copies and the row -> slot buckets (device memory).
struct CachedTableView {
  const void* table = nullptr;
  const void* cached_rows = nullptr;
  const RowSlotEntry* slots = nullptr;
  std::uint64_t slot_mask = 0;  ///< bucket count - 1 (a power of two minus one)
  std::size_t row_bytes = 0;
  std::size_t num_rows = 0;
  unsigned long long* stats = nullptr;  ///< [hits, misses], device memory
};

void launch_cached_gather(const RowCopyPlan& plan, const CachedTableView& view, const std::int64_t* indices,
                          std::size_t count, void* out, IndexFault* fault, cudaStream_t stream);
void launch_cached_gather(const RowCopyPlan& plan, const CachedTableView& view, const std::int32_t* indices,
                          std::size_t count, void* out, IndexFault* fault, cudaStream_t stream);

/// counts[indices[i]] += 1 for every index in range (others are skipped).
void launch_count_rows(const std::int64_t* indices, std::size_t count, std::size_t num_rows, unsigned* counts,
                       int sm_count, cudaStream_t stream);
void launch_count_rows(const std::int32_t* indices, std::size_t count, std::size_t num_rows, unsigned* counts,
                       int sm_count, cudaStream_t stream);

}  // namespace ghtier::detail
