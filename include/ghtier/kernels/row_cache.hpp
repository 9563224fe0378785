// RowCache: copies of a table's hot rows in GPU memory, with a GPU-side map from row id to cache slot, so
// that gathers from a table in CPU memory read the rows asked for most often from HBM and only the rest
// over the link (recommender and embedding lookups follow skewed, Zipf-like key distributions).
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ghtier/kernels/index_check.hpp"
#include "ghtier/memory/default_device_resource.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

class GHTIER_API RowCache {
 public:
  /// Hits and misses counted by gather() since construction or reset_stats().
  struct Stats {
    std::uint64_t hits = 0;    ///< rows read from the cache
    std::uint64_t misses = 0;  ///< rows read from the table (out-of-range indices are in neither)
  };

  /// Caches the rows `hot_rows` (distinct row ids, host memory, any order) of `table` (num_rows rows of
  /// row_bytes, in any GPU-reachable tier) in device memory of the current device, filled on `stream`.
  /// The cache holds copies: after writing those rows of the table, call reload(). The table must outlive
  /// the cache. Every byte the cache holds (rows, slot map, counters; device_bytes()) and the temporary
  /// index records of its gathers come from `resource`, which must outlive the cache.
  /// Throws Error(invalid_argument) for a zero row width, a null table, sizes that overflow, a hot row out
  /// of range or repeated, a system-memory resource; Error(unsupported) for a table the GPU cannot reach;
  /// Error(out_of_budget) / Error(out_of_memory) when the resource refuses the memory.
  RowCache(const void* table, std::size_t row_bytes, std::size_t num_rows, std::span<const std::int64_t> hot_rows,
           cudaStream_t stream, MemoryResource& resource = default_device_resource());
  /// Caches the `capacity_rows` rows with the highest `frequencies` (one count per table row, host memory;
  /// rows counted zero are never cached). Throws as the constructor, and Error(invalid_argument) when
  /// frequencies.size() != num_rows.
  [[nodiscard]] static RowCache from_frequencies(const void* table, std::size_t row_bytes, std::size_t num_rows,
                                                 std::span<const std::uint64_t> frequencies, std::size_t capacity_rows,
                                                 cudaStream_t stream,
                                                 MemoryResource& resource = default_device_resource());
  /// Pure: the ids of the (at most) `k` rows with the highest counts, ties to the lower id, zero counts
  /// left out, in ascending id order (the order the cache is filled in).
  [[nodiscard]] static std::vector<std::int64_t> select_hot_rows(std::span<const std::uint64_t> frequencies,
                                                                 std::size_t k);

  ~RowCache();
  RowCache(RowCache&&) noexcept;
  RowCache& operator=(RowCache&&) noexcept;
  RowCache(const RowCache&) = delete;
  RowCache& operator=(const RowCache&) = delete;

  /// out[i] = table[indices[i]] like ghtier::gather, each row read from the cache when it is there and from
  /// the table otherwise, in one launch. Out-of-range indices and the errors are those of gather().
  void gather(const std::int64_t* indices, std::size_t count, void* out, cudaStream_t stream,
              IndexCheck* check = nullptr);
  /// As above, with 32-bit indices.
  void gather(const std::int32_t* indices, std::size_t count, void* out, cudaStream_t stream,
              IndexCheck* check = nullptr);

  /// Counts, on the GPU, how often each row is asked for (counters of 4 bytes per table row, from the
  /// cache's resource on first use; out-of-range indices are ignored here). Use before refresh().
  void record(const std::int64_t* indices, std::size_t count, cudaStream_t stream);
  void record(const std::int32_t* indices, std::size_t count, cudaStream_t stream);
  /// Caches the `capacity_rows` rows recorded most often since the last refresh (waits for `stream`, reads
  /// the counters back, then clears them). The new rows are allocated before the old ones are given back.
  /// Throws Error(invalid_argument) if nothing was ever recorded; out_of_budget / out_of_memory (the cache
  /// is then left as it was).
  void refresh(std::size_t capacity_rows, cudaStream_t stream);
  /// Copies the cached rows from the table again (after the table was written), on `stream`.
  void reload(cudaStream_t stream);

  /// Waits for `stream` and reads the hit and miss counters.
  [[nodiscard]] Stats stats(cudaStream_t stream) const;
  /// Clears the hit and miss counters, on `stream`.
  void reset_stats(cudaStream_t stream);

  [[nodiscard]] std::size_t cached_rows() const noexcept;
  [[nodiscard]] std::size_t row_bytes() const noexcept;
  [[nodiscard]] std::size_t num_rows() const noexcept;
  /// The cached row ids, ascending (host copy).
  [[nodiscard]] std::span<const std::int64_t> hot_rows() const noexcept;
  /// Device memory the cache holds: rows, slot map, counters.
  [[nodiscard]] std::size_t device_bytes() const noexcept;

  struct State;  ///< (internal)

 private:
  explicit RowCache(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace ghtier
