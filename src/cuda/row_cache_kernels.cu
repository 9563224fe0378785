// RowCache kernels: a gather whose rows come from the cache when the slot table has them, else from the
// table; and a per-row request counter.
#include "cuda/row_cache_kernels.hpp"
#include "cuda/row_copy.cuh"

namespace ghtier::detail {

namespace {
/// Linear probing; ends at an empty bucket because the table is at most half full.
__device__ inline long long find_slot(const RowSlotEntry* slots, std::uint64_t mask, long long row) {
  for (std::uint64_t h = row_slot_hash(static_cast<std::uint64_t>(row)) & mask;; h = (h + 1) & mask) {
    const RowSlotEntry entry = slots[h];
    if (entry.row == row) return entry.slot;
    if (entry.row < 0) return -1;
  }
}

template <class Index>
struct CachedGatherMapping {
  const unsigned char* table;
  const unsigned char* cached_rows;
  unsigned char* out;
  const Index* indices;
  const RowSlotEntry* slots;
  std::uint64_t slot_mask;
  std::size_t row_bytes;
  std::size_t num_rows;
  IndexFault* fault;
  unsigned long long* stats;
  static constexpr bool counts_hits = true;

  __device__ RowPair row(std::size_t i) const {
    const Index idx = indices[i];
    RowPair pair;
    pair.dst = out + i * row_bytes;
    if (!index_in_range(idx, num_rows)) {
      pair.bad = true;
      return pair;
    }
    const long long slot = find_slot(slots, slot_mask, static_cast<long long>(idx));
    if (slot >= 0) {
      pair.src = cached_rows + static_cast<std::size_t>(slot) * row_bytes;
      pair.hit = true;
    } else {
      pair.src = table + static_cast<std::size_t>(idx) * row_bytes;
    }
    return pair;
  }
  __device__ void report(std::size_t i) const {
    record_bad_index(fault, i, static_cast<long long>(indices[i]), num_rows);
  }
  __device__ void add_hits(unsigned hits, unsigned misses) const {
    if (hits != 0) atomicAdd(&stats[0], static_cast<unsigned long long>(hits));
    if (misses != 0) atomicAdd(&stats[1], static_cast<unsigned long long>(misses));
  }
};

template <class Index>
__global__ void count_rows(const Index* indices, std::size_t count, std::size_t num_rows, unsigned* counts) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    const Index idx = indices[i];
    if (index_in_range(idx, num_rows)) atomicAdd(&counts[static_cast<std::size_t>(idx)], 1u);
  }
}

template <class Index>
void cached_gather_impl(const RowCopyPlan& plan, const CachedTableView& view, const Index* indices, std::size_t count,
                        void* out, IndexFault* fault, cudaStream_t stream) {
  const CachedGatherMapping<Index> map{static_cast<const unsigned char*>(view.table),
                                       static_cast<const unsigned char*>(view.cached_rows),
                                       static_cast<unsigned char*>(out),
                                       indices,
                                       view.slots,
                                       view.slot_mask,
                                       view.row_bytes,
                                       view.num_rows,
                                       fault,
                                       view.stats};
  launch_row_copy(plan, map, count, view.row_bytes, stream, "launch of cached gather kernel");
}

template <class Index>
void count_rows_impl(const Index* indices, std::size_t count, std::size_t num_rows, unsigned* counts, int sm_count,
                     cudaStream_t stream) {
  if (count == 0) return;
  constexpr unsigned threads = 256;
  const std::size_t wanted = (count + threads - 1) / threads;
  const std::size_t max_blocks = static_cast<std::size_t>(sm_count > 0 ? sm_count : 1) * 8;
  const unsigned blocks = static_cast<unsigned>(wanted < max_blocks ? wanted : max_blocks);
  count_rows<Index><<<blocks, threads, 0, stream>>>(indices, count, num_rows, counts);
  GHTIER_CUDA_CHECK_LAUNCH("count_rows");
}
}  // namespace

void launch_cached_gather(const RowCopyPlan& plan, const CachedTableView& view, const std::int64_t* indices,
                          std::size_t count, void* out, IndexFault* fault, cudaStream_t stream) {
  cached_gather_impl(plan, view, indices, count, out, fault, stream);
}

void launch_cached_gather(const RowCopyPlan& plan, const CachedTableView& view, const std::int32_t* indices,
                          std::size_t count, void* out, IndexFault* fault, cudaStream_t stream) {
  cached_gather_impl(plan, view, indices, count, out, fault, stream);
}

void launch_count_rows(const std::int64_t* indices, std::size_t count, std::size_t num_rows, unsigned* counts,
                       int sm_count, cudaStream_t stream) {
  count_rows_impl(indices, count, num_rows, counts, sm_count, stream);
}

void launch_count_rows(const std::int32_t* indices, std::size_t count, std::size_t num_rows, unsigned* counts,
                       int sm_count, cudaStream_t stream) {
  count_rows_impl(indices, count, num_rows, counts, sm_count, stream);
}

}  // namespace ghtier::detail
