// Sorted gather on the GPU: (index, position) pairs radix-sorted by index, the start of each run of equal
// indices found with a max-scan, then two row-copy passes: each distinct row read once, in ascending
// address order, into the first position that asked for it; then copied from there to the others.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>
#include <cuda/functional>

#include <bit>

#include "cuda/row_copy.cuh"
#include "cuda/sorted_gather_kernels.hpp"
#include "ghtier/memory/device_buffer.hpp"

namespace ghtier::detail {

namespace {
constexpr unsigned helper_threads = 256;

/// keys[i] = indices[i], or `num_rows` (a sentinel that sorts last and gathers zeros) when out of range.
template <class Index, class Key>
__global__ void make_sort_keys(const Index* indices, std::size_t count, std::size_t num_rows, Key* keys,
                               std::uint32_t* positions, IndexFault* fault) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    const Index idx = indices[i];
    const bool ok = index_in_range(idx, num_rows);
    keys[i] = ok ? static_cast<Key>(idx) : static_cast<Key>(num_rows);
    positions[i] = static_cast<std::uint32_t>(i);
    if (!ok) record_bad_index(fault, i, static_cast<long long>(idx), num_rows);
  }
}

/// starts[k] = k where a run of equal sorted keys begins, else 0 (a max-scan then gives every k its run's start).
template <class Key>
__global__ void mark_run_starts(const Key* keys, std::size_t count, std::uint32_t* starts) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t k = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < count; k += stride) {
    starts[k] = (k == 0 || keys[k] != keys[k - 1]) ? static_cast<std::uint32_t>(k) : 0u;
  }
}

/// Pass 1: sorted position k that starts a run reads its row from the table into out[positions[k]].
template <class Key>
struct FirstOfRunMapping {
  const unsigned char* table;
  unsigned char* out;
  const Key* keys;
  const std::uint32_t* positions;
  const std::uint32_t* run_start;
  std::size_t row_bytes;
  Key sentinel;
  static constexpr bool counts_hits = false;

  __device__ RowPair row(std::size_t k) const {
    RowPair pair;
    if (run_start[k] != k) return pair;  // a repeat: pass 2 fills it
    pair.dst = out + static_cast<std::size_t>(positions[k]) * row_bytes;
    const Key key = keys[k];
    if (key != sentinel) pair.src = table + static_cast<std::size_t>(key) * row_bytes;  // else zeros
    return pair;
  }
  __device__ void report(std::size_t) const {}  // make_sort_keys reported it
};

/// Pass 2: every other sorted position copies its run's first row within out.
struct RepeatMapping {
  unsigned char* out;
  const std::uint32_t* positions;
  const std::uint32_t* run_start;
  std::size_t row_bytes;
  static constexpr bool counts_hits = false;

  __device__ RowPair row(std::size_t k) const {
    RowPair pair;
    const std::uint32_t start = run_start[k];
    if (start == k) return pair;
    pair.src = out + static_cast<std::size_t>(positions[start]) * row_bytes;
    pair.dst = out + static_cast<std::size_t>(positions[k]) * row_bytes;
    return pair;
  }
  __device__ void report(std::size_t) const {}
};

std::size_t align_up(std::size_t bytes) { return (bytes + 255) & ~std::size_t{255}; }

unsigned helper_blocks(std::size_t count, int sm_count) {
  const std::size_t blocks = (count + helper_threads - 1) / helper_threads;
  const std::size_t max_blocks = static_cast<std::size_t>(sm_count > 0 ? sm_count : 1) * 8;
  return static_cast<unsigned>(blocks < max_blocks ? blocks : max_blocks);
}

template <class Index, class Key>
void sorted_gather_impl(const SortedGatherPlans& plans, const void* table, std::size_t row_bytes, std::size_t num_rows,
                        const Index* indices, std::size_t count, void* out, IndexFault* fault, int sm_count,
                        cudaStream_t stream, MemoryResource& resource) {
  if (count == 0) return;
  // Only the bits that row ids (and the sentinel num_rows) use take part in the sort.
  const int end_bit = static_cast<int>(std::bit_width(static_cast<unsigned long long>(num_rows)));

  std::size_t sort_temp = 0;
  std::size_t scan_temp = 0;
  {
    cub::DoubleBuffer<Key> keys(nullptr, nullptr);
    cub::DoubleBuffer<std::uint32_t> values(nullptr, nullptr);
    GHTIER_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, sort_temp, keys, values, count, 0, end_bit, stream));
    GHTIER_CUDA_CHECK(cub::DeviceScan::InclusiveScan(nullptr, scan_temp, static_cast<const std::uint32_t*>(nullptr),
                                                     static_cast<std::uint32_t*>(nullptr), ::cuda::maximum<>{}, count,
                                                     stream));
  }
  const std::size_t key_bytes = align_up(count * sizeof(Key));
  const std::size_t u32_bytes = align_up(count * sizeof(std::uint32_t));
  const std::size_t temp_bytes = align_up(sort_temp > scan_temp ? sort_temp : scan_temp);
  const DeviceBuffer scratch(2 * key_bytes + 4 * u32_bytes + temp_bytes, stream, resource);
  auto* base = static_cast<unsigned char*>(scratch.data());
  Key* keys0 = reinterpret_cast<Key*>(base);
  Key* keys1 = reinterpret_cast<Key*>(base + key_bytes);
  auto* positions0 = reinterpret_cast<std::uint32_t*>(base + 2 * key_bytes);
  auto* positions1 = reinterpret_cast<std::uint32_t*>(base + 2 * key_bytes + u32_bytes);
  auto* marks = reinterpret_cast<std::uint32_t*>(base + 2 * key_bytes + 2 * u32_bytes);
  auto* run_start = reinterpret_cast<std::uint32_t*>(base + 2 * key_bytes + 3 * u32_bytes);
  void* temp = base + 2 * key_bytes + 4 * u32_bytes;

  const unsigned blocks = helper_blocks(count, sm_count);
  make_sort_keys<Index, Key><<<blocks, helper_threads, 0, stream>>>(indices, count, num_rows, keys0, positions0, fault);
  GHTIER_CUDA_CHECK_LAUNCH("make_sort_keys");

  cub::DoubleBuffer<Key> keys(keys0, keys1);
  cub::DoubleBuffer<std::uint32_t> positions(positions0, positions1);
  std::size_t temp_size = temp_bytes;
  GHTIER_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp, temp_size, keys, positions, count, 0, end_bit, stream));

  mark_run_starts<Key><<<blocks, helper_threads, 0, stream>>>(keys.Current(), count, marks);
  GHTIER_CUDA_CHECK_LAUNCH("mark_run_starts");
  temp_size = temp_bytes;
  GHTIER_CUDA_CHECK(cub::DeviceScan::InclusiveScan(temp, temp_size, static_cast<const std::uint32_t*>(marks), run_start,
                                                   ::cuda::maximum<>{}, count, stream));

  const FirstOfRunMapping<Key> first{static_cast<const unsigned char*>(table),
                                     static_cast<unsigned char*>(out),
                                     keys.Current(),
                                     positions.Current(),
                                     run_start,
                                     row_bytes,
                                     static_cast<Key>(num_rows)};
  launch_row_copy(plans.first, first, count, row_bytes, stream, "launch of sorted_gather first-of-run kernel");
  const RepeatMapping repeat{static_cast<unsigned char*>(out), positions.Current(), run_start, row_bytes};
  launch_row_copy(plans.repeat, repeat, count, row_bytes, stream, "launch of sorted_gather repeat kernel");
}

template <class Index>
void dispatch_key(const SortedGatherPlans& plans, const void* table, std::size_t row_bytes, std::size_t num_rows,
                  const Index* indices, std::size_t count, void* out, IndexFault* fault, int sm_count,
                  cudaStream_t stream, MemoryResource& resource) {
  // 32-bit keys sort in half the passes and memory whenever the sentinel num_rows fits.
  if (num_rows < (std::size_t{1} << 32)) {
    sorted_gather_impl<Index, std::uint32_t>(plans, table, row_bytes, num_rows, indices, count, out, fault, sm_count,
                                             stream, resource);
  } else {
    sorted_gather_impl<Index, std::uint64_t>(plans, table, row_bytes, num_rows, indices, count, out, fault, sm_count,
                                             stream, resource);
  }
}
}  // namespace

SortedGatherPlans plan_sorted_gather(std::size_t row_bytes, std::size_t count, const void* table, const void* out,
                                     int sm_count) noexcept {
  const auto t = reinterpret_cast<std::uintptr_t>(table);
  const auto o = reinterpret_cast<std::uintptr_t>(out);
  return {plan_row_copy(row_bytes, count, t, row_bytes, o, row_bytes, sm_count),
          plan_row_copy(row_bytes, count, o, row_bytes, o, row_bytes, sm_count)};
}

void launch_sorted_gather(const SortedGatherPlans& plans, const void* table, std::size_t row_bytes,
                          std::size_t num_rows, const std::int64_t* indices, std::size_t count, void* out,
                          IndexFault* fault, int sm_count, cudaStream_t stream, MemoryResource& resource) {
  dispatch_key(plans, table, row_bytes, num_rows, indices, count, out, fault, sm_count, stream, resource);
}

void launch_sorted_gather(const SortedGatherPlans& plans, const void* table, std::size_t row_bytes,
                          std::size_t num_rows, const std::int32_t* indices, std::size_t count, void* out,
                          IndexFault* fault, int sm_count, cudaStream_t stream, MemoryResource& resource) {
  dispatch_key(plans, table, row_bytes, num_rows, indices, count, out, fault, sm_count, stream, resource);
}

}  // namespace ghtier::detail
