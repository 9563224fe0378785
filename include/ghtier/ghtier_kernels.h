/* ghtier C API, direct-access kernels (docs/kernels.md): kernels that read or write CPU-resident memory in
 * place from the GPU. Included by ghtier.h (include that); the same conventions hold: every function returns
 * a ghtier_status_t, streams are cudaStream_t passed as void* (NULL: the legacy default stream), pointers may
 * be device, pinned host or managed memory, or system memory where the platform lets the GPU reach it
 * (pageable memory on plain PCIe is refused with GHTIER_ERROR_UNSUPPORTED before anything is launched).
 *
 * Budgeting: every call that allocates device memory (handle creation, and calls that need scratch or a
 * fault record: gather, sorted gather, scatter, aggregate, group-by, hash-table creation) takes the
 * ghtier_runtime_t* first, so that its device memory counts against that runtime's device budget; handles
 * keep their runtime alive and allocate (e.g. probe scratch) through it. Calls that allocate nothing
 * (sm_copy, CPU-side bit-packing) take no runtime. */
#ifndef GHTIER_GHTIER_KERNELS_H
#define GHTIER_GHTIER_KERNELS_H

#include "export.h"

#include <stddef.h>
#include <stdint.h>

#include "ghtier.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------------
 * Copy, gather, scatter, row cache (include/ghtier/kernels/sm_copy.hpp, gather.hpp, sorted_gather.hpp,
 * scatter.hpp, row_cache.hpp, index_check.hpp).
 * ------------------------------------------------------------------------------------------------------ */

/** Type of the elements of an index list. */
typedef enum ghtier_index_type_t {
  GHTIER_INDEX_INT32 = 0, /**< int32_t */
  GHTIER_INDEX_INT64 = 1  /**< int64_t */
} ghtier_index_type_t;

/** A device-side record of out-of-range indices (IndexCheck): pass it to the index-checked calls below to
 * keep them asynchronous, then call ghtier_index_check_verify once. A handle (see ghtier.h); one per device. */
typedef struct ghtier_index_check ghtier_index_check_t;

/** Creates a record on the runtime's device (budgeted). On failure *check is set to NULL. */
GHTIER_API ghtier_status_t ghtier_index_check_create(ghtier_runtime_t* runtime, ghtier_index_check_t** check);
/** Destroys it; NULL is a no-op, a destroyed or wrong-type handle GHTIER_ERROR_INVALID_ARGUMENT. */
GHTIER_API ghtier_status_t ghtier_index_check_destroy(ghtier_index_check_t* check);
/** Waits for the stream; GHTIER_ERROR_INVALID_ARGUMENT (with the first bad index in ghtier_error_message) if
 * an index was out of range since creation or the last verify, which also clears the record. */
GHTIER_API ghtier_status_t ghtier_index_check_verify(ghtier_index_check_t* check, void* stream);

/** SM-driven copy of `bytes` (any alignment), ordered on `stream`. */
GHTIER_API ghtier_status_t ghtier_sm_copy(void* dst, const void* src, size_t bytes, void* stream);
/** SM-driven 2D copy: `height` rows of `width_bytes`, rows `src_pitch` / `dst_pitch` bytes apart. Source
 * and destination spans must not overlap (GHTIER_ERROR_INVALID_ARGUMENT, as in ghtier_sm_copy). */
GHTIER_API ghtier_status_t ghtier_sm_copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch,
                                             size_t width_bytes, size_t height, void* stream);

/** out[i] = table[indices[i]] for i < count, rows of row_bytes; table has num_rows rows. Out-of-range indices
 * give zero rows; with check == NULL the call waits for the stream and fails with
 * GHTIER_ERROR_INVALID_ARGUMENT naming one, else they are recorded in `check`. */
GHTIER_API ghtier_status_t ghtier_gather(ghtier_runtime_t* runtime, const void* table, size_t row_bytes,
                                         size_t num_rows, const void* indices, ghtier_index_type_t index_type,
                                         size_t count, void* out, void* stream, ghtier_index_check_t* check);
/** The same result as ghtier_gather, reading each distinct row once in address order (sorts the indices on
 * the GPU first): for large batches over large tables. count must be below 2^32. */
GHTIER_API ghtier_status_t ghtier_sorted_gather(ghtier_runtime_t* runtime, const void* table, size_t row_bytes,
                                                size_t num_rows, const void* indices, ghtier_index_type_t index_type,
                                                size_t count, void* out, void* stream, ghtier_index_check_t* check);
/** table[indices[i]] = rows[i] for i < count; out-of-range indices write nothing (reported as for gather).
 * Repeated indices: which row lands is unspecified. */
GHTIER_API ghtier_status_t ghtier_scatter(ghtier_runtime_t* runtime, const void* rows, size_t row_bytes, size_t count,
                                          const void* indices, ghtier_index_type_t index_type, void* table,
                                          size_t num_rows, void* stream, ghtier_index_check_t* check);

/** Copies of a table's hot rows in GPU memory, consulted first by ghtier_row_cache_gather. A handle. */
typedef struct ghtier_row_cache ghtier_row_cache_t;

/** Caches the `hot_count` rows `hot_rows` (distinct ids, host memory) of the table; filled on `stream`. */
GHTIER_API ghtier_status_t ghtier_row_cache_create(ghtier_runtime_t* runtime, const void* table, size_t row_bytes,
                                                   size_t num_rows, const int64_t* hot_rows, size_t hot_count,
                                                   void* stream, ghtier_row_cache_t** cache);
/** Caches the `capacity_rows` rows with the highest `frequencies` (num_rows counts, host memory). */
GHTIER_API ghtier_status_t ghtier_row_cache_create_from_frequencies(ghtier_runtime_t* runtime, const void* table,
                                                                    size_t row_bytes, size_t num_rows,
                                                                    const uint64_t* frequencies, size_t capacity_rows,
                                                                    void* stream, ghtier_row_cache_t** cache);
/** Destroys the cache; NULL is a no-op, a destroyed or wrong-type handle GHTIER_ERROR_INVALID_ARGUMENT. */
GHTIER_API ghtier_status_t ghtier_row_cache_destroy(ghtier_row_cache_t* cache);
/** ghtier_gather through the cache: cached rows from GPU memory, the rest from the table. */
GHTIER_API ghtier_status_t ghtier_row_cache_gather(ghtier_row_cache_t* cache, const void* indices,
                                                   ghtier_index_type_t index_type, size_t count, void* out,
                                                   void* stream, ghtier_index_check_t* check);
/** Waits for the stream and reads the hit and miss counts; either output may be NULL. */
GHTIER_API ghtier_status_t ghtier_row_cache_get_statistics(ghtier_row_cache_t* cache, void* stream, uint64_t* hits,
                                                           uint64_t* misses);
/** The number of cached rows and the device bytes the cache holds; either output may be NULL. */
GHTIER_API ghtier_status_t ghtier_row_cache_get_info(ghtier_row_cache_t* cache, size_t* cached_rows,
                                                     size_t* device_bytes);

/** The ways ghtier_gather_auto can gather (include/ghtier/kernels/gather_path_chooser.hpp). */
typedef enum ghtier_gather_path_t {
  GHTIER_GATHER_PATH_PLAIN = 0,        /**< ghtier_gather: every requested row read in place */
  GHTIER_GATHER_PATH_SORTED = 1,       /**< ghtier_sorted_gather: keys sorted, each distinct row read once */
  GHTIER_GATHER_PATH_CACHED = 2,       /**< ghtier_row_cache_gather: hot rows from GPU memory */
  GHTIER_GATHER_PATH_CPU_PIPELINED = 3 /**< CPU threads gather into pinned chunks the copy engine moves */
} ghtier_gather_path_t;

/** What the caller knows of the keys' distribution. */
typedef enum ghtier_key_distribution_t {
  GHTIER_KEYS_UNKNOWN = 0, /**< modelled as uniform */
  GHTIER_KEYS_UNIFORM = 1,
  GHTIER_KEYS_SKEWED = 2 /**< Zipf-like: a few rows take most requests */
} ghtier_key_distribution_t;

/** Persistent CPU threads with pinned staging chunks (CpuGatherPipeline): the cpu_pipelined path of
 * ghtier_gather_auto. A handle, for the device current at creation. */
typedef struct ghtier_cpu_gather_pipeline ghtier_cpu_gather_pipeline_t;

/** Starts `threads` threads (0: the hardware's, at most 16) with a ring of 8 pinned chunks of `chunk_bytes`
 * each (0: 2 MiB). On failure *pipeline is set to NULL. */
GHTIER_API ghtier_status_t ghtier_cpu_gather_pipeline_create(uint32_t threads, size_t chunk_bytes,
                                                             ghtier_cpu_gather_pipeline_t** pipeline);
/** Waits for its copies, stops its threads; NULL is a no-op, a destroyed handle GHTIER_ERROR_INVALID_ARGUMENT. */
GHTIER_API ghtier_status_t ghtier_cpu_gather_pipeline_destroy(ghtier_cpu_gather_pipeline_t* pipeline);

/** Hints for ghtier_gather_auto. struct_size: sizeof(ghtier_gather_auto_options_t). */
typedef struct ghtier_gather_auto_options_t {
  size_t struct_size;
  int32_t key_distribution;               /**< a ghtier_key_distribution_t */
  int32_t keys_sorted;                    /**< 1: the indices are ascending */
  ghtier_row_cache_t* cache;              /**< a cache over this same table, or NULL */
  double cache_hit_rate;                  /**< expected share of requests the cache serves; negative: estimated */
  ghtier_cpu_gather_pipeline_t* pipeline; /**< offers the cpu_pipelined path, or NULL */
} ghtier_gather_auto_options_t;

/** The path ghtier_gather_auto ran and what the model predicted. struct_size: sizeof(ghtier_gather_choice_t). */
typedef struct ghtier_gather_choice_t {
  size_t struct_size;
  int32_t path; /**< a ghtier_gather_path_t */
  int32_t reserved;
  double predicted_gbps[4]; /**< per ghtier_gather_path_t, GB/s of requested rows; 0: not available */
  char reason[512];         /**< the chooser's reason, NUL-terminated (cut to fit) */
} ghtier_gather_choice_t;

/** The result of ghtier_gather, by the path a cost model predicts fastest for this request on this machine
 * (plain, sorted or through `options->cache`), calibrated per platform (docs/kernels.md, "Choosing a gather
 * path"). options may be NULL (no hints); choice may be NULL, else it receives the decision. Errors as
 * ghtier_gather, and GHTIER_ERROR_INVALID_ARGUMENT for a cache of another table shape or a bad struct_size. */
GHTIER_API ghtier_status_t ghtier_gather_auto(ghtier_runtime_t* runtime, const void* table, size_t row_bytes,
                                              size_t num_rows, const void* indices, ghtier_index_type_t index_type,
                                              size_t count, void* out, void* stream, ghtier_index_check_t* check,
                                              const ghtier_gather_auto_options_t* options,
                                              ghtier_gather_choice_t* choice);

/* ------------------------------------------------------------------------------------------------------
 * Scan / aggregate, hash join, compressed columns (include/ghtier/kernels/column_view.hpp, range_filter.hpp,
 * aggregate.hpp, group_by.hpp, hash_join.hpp, bitpacked_column.hpp). These calls enqueue on `stream` and
 * wait for their result before returning. Every struct here that starts with struct_size (columns, filters,
 * options, results, packed columns) follows ghtier.h's struct_size rules: set it to sizeof the struct.
 * ------------------------------------------------------------------------------------------------------ */

/** Element type of a column. */
typedef enum ghtier_column_type_t {
  GHTIER_COLUMN_INT32 = 0,   /**< int32_t */
  GHTIER_COLUMN_INT64 = 1,   /**< int64_t */
  GHTIER_COLUMN_FLOAT32 = 2, /**< float */
  GHTIER_COLUMN_FLOAT64 = 3  /**< double */
} ghtier_column_type_t;

/** A column: `rows` values of `type` (a ghtier_column_type_t) at `data`, aligned to the value size, in any
 * GPU-reachable tier. data may be NULL only when rows is 0. struct_size: sizeof(ghtier_column_t). */
typedef struct ghtier_column_t {
  size_t struct_size;
  const void* data;
  uint64_t rows;
  int32_t type;
  int32_t reserved; /**< 0 */
} ghtier_column_t;

/** Keeps the rows whose filter value v has lo <= v <= hi. Integer columns use [min_int, max_int] (set
 * float_bounds = 0), float and double columns [min_float, max_float] (float_bounds = 1): the other pair on
 * a column is GHTIER_ERROR_INVALID_ARGUMENT. column NULL: the filter tests the aggregated values. */
typedef struct ghtier_range_filter_t {
  size_t struct_size;
  const ghtier_column_t* column;
  int32_t float_bounds;
  int32_t reserved; /**< 0 */
  int64_t min_int;
  int64_t max_int;
  double min_float;
  double max_float;
} ghtier_range_filter_t;

/** The aggregate of a column or of one group. Integer columns: sum_int (int64, wraps), min_int, max_int,
 * and the *_float fields as their double values; float columns: the *_float fields (sum in double; min/max
 * skip NaN) and 0 in the *_int fields. min/max are 0 when count is 0. */
typedef struct ghtier_aggregate_result_t {
  size_t struct_size;
  uint64_t count;
  int64_t sum_int;
  int64_t min_int;
  int64_t max_int;
  double sum_float;
  double min_float;
  double max_float;
} ghtier_aggregate_result_t;

/** count/sum/min/max of `values`, with an optional filter (NULL: every row). */
GHTIER_API ghtier_status_t ghtier_aggregate(ghtier_runtime_t* runtime, const ghtier_column_t* values,
                                            const ghtier_range_filter_t* filter, void* stream,
                                            ghtier_aggregate_result_t* result);

/** Per key in [0, groups) of `keys` (int32/int64): the aggregate of `values` into results[key]. `results`
 * is an array of `groups` structs whose first struct_size is set (it is also the array's stride; the
 * others' struct_size fields are overwritten). Rows whose key is outside [0, groups) go to
 * *rows_out_of_range (may be NULL). groups <= 16777216. */
GHTIER_API ghtier_status_t ghtier_group_by(ghtier_runtime_t* runtime, const ghtier_column_t* keys,
                                           const ghtier_column_t* values, uint32_t groups,
                                           const ghtier_range_filter_t* filter, void* stream,
                                           ghtier_aggregate_result_t* results, uint64_t* rows_out_of_range);

/** A hash table in device memory over a join's build side (HashJoinTable). A handle. */
typedef struct ghtier_hash_table ghtier_hash_table_t;

typedef struct ghtier_hash_join_options_t {
  size_t struct_size;
  double max_load_factor; /**< in (0, 0.9]; 0 = the default 0.5 */
} ghtier_hash_join_options_t;

/** One match: probe row `probe_row` has the key of build row `build_row`. */
typedef struct ghtier_join_pair_t {
  uint64_t probe_row;
  uint64_t build_row;
} ghtier_join_pair_t;

/** What a probe found. pairs_written = min(matches, capacity); pairs_overflowed = 1 when pairs were
 * dropped for want of capacity (matches and the sums stay exact). */
typedef struct ghtier_join_result_t {
  size_t struct_size;
  uint64_t matches;
  int64_t payload_sum_int;
  double payload_sum_float;
  uint64_t pairs_written;
  uint32_t pairs_overflowed;
  uint32_t reserved;
} ghtier_join_result_t;

/** The slots and device bytes of a table for `build_rows` keys (pure; max_load_factor 0 = 0.5). */
GHTIER_API ghtier_status_t ghtier_hash_table_get_layout(uint64_t build_rows, ghtier_column_type_t key_type,
                                                        int has_payload, double max_load_factor, uint64_t* capacity,
                                                        uint64_t* device_bytes);
/** Builds a table from `keys` (int32/int64) and an optional `payload` column (NULL: none) of as many
 * rows; options may be NULL. Duplicate keys are kept (many-to-many joins). */
GHTIER_API ghtier_status_t ghtier_hash_table_create(ghtier_runtime_t* runtime, const ghtier_column_t* keys,
                                                    const ghtier_column_t* payload,
                                                    const ghtier_hash_join_options_t* options, void* stream,
                                                    ghtier_hash_table_t** table);
/** Destroys a table; NULL is a no-op, a destroyed or wrong-type handle GHTIER_ERROR_INVALID_ARGUMENT. */
GHTIER_API ghtier_status_t ghtier_hash_table_destroy(ghtier_hash_table_t* table);
/** The table's slot count and device bytes; either output may be NULL. */
GHTIER_API ghtier_status_t ghtier_hash_table_get_info(ghtier_hash_table_t* table, uint64_t* capacity,
                                                      uint64_t* device_bytes);
/** Probes with `probe_keys` (the table's key type): the matches, the sum of the matched payloads, and the
 * pairs when `pairs` is not NULL (pairs_capacity of GPU-writable memory). */
GHTIER_API ghtier_status_t ghtier_hash_table_probe(ghtier_hash_table_t* table, const ghtier_column_t* probe_keys,
                                                   ghtier_join_pair_t* pairs, uint64_t pairs_capacity, void* stream,
                                                   ghtier_join_result_t* result);

/** Bit-packed columns (format in include/ghtier/kernels/bitpacked_column.hpp): one 16-byte header per block of
 * 1024 values, the block's values as width-bit offsets from its reference. */
typedef struct ghtier_bitpack_block_header_t {
  int64_t reference;
  uint32_t width;  /**< 0..32 */
  uint32_t offset; /**< first word of the block, in units of 32 words */
} ghtier_bitpack_block_header_t;

typedef struct ghtier_bitpacked_column_t {
  size_t struct_size; /**< sizeof(ghtier_bitpacked_column_t) */
  int32_t value_type; /**< GHTIER_COLUMN_INT32 or GHTIER_COLUMN_INT64 */
  int32_t reserved;   /**< 0 */
  uint64_t rows;
  const ghtier_bitpack_block_header_t* blocks; /**< ceil(rows / 1024) headers */
  const uint32_t* words;
  uint64_t word_count;
} ghtier_bitpacked_column_t;

/** The headers and words that packing `rows` int32/int64 values needs (a first pass over them). */
GHTIER_API ghtier_status_t ghtier_bitpacked_get_size(const void* values, ghtier_column_type_t type, uint64_t rows,
                                                     uint64_t* block_count, uint64_t* word_count);
/** Packs `rows` values on the CPU into `blocks` and `words` (CPU-writable: pinned host memory for GPU
 * reads) and describes the result in *column (an output: set column->struct_size first). */
GHTIER_API ghtier_status_t ghtier_bitpacked_pack(const void* values, ghtier_column_type_t type, uint64_t rows,
                                                 ghtier_bitpack_block_header_t* blocks, uint64_t block_capacity,
                                                 uint32_t* words, uint64_t word_capacity,
                                                 ghtier_bitpacked_column_t* column);
/** Checks a packed column against the format (its headers must be CPU-readable). */
GHTIER_API ghtier_status_t ghtier_bitpacked_validate(const ghtier_bitpacked_column_t* column);
/** Decodes on the CPU into `out` (`rows` values of the column's type). */
GHTIER_API ghtier_status_t ghtier_bitpacked_unpack(const ghtier_bitpacked_column_t* column, void* out, uint64_t rows);
/** ghtier_aggregate over a packed column, decoded inside the kernel. */
GHTIER_API ghtier_status_t ghtier_bitpacked_aggregate(ghtier_runtime_t* runtime,
                                                      const ghtier_bitpacked_column_t* values,
                                                      const ghtier_range_filter_t* filter, void* stream,
                                                      ghtier_aggregate_result_t* result);
/** ghtier_hash_table_probe with packed probe keys, decoded inside the kernel. */
GHTIER_API ghtier_status_t ghtier_hash_table_probe_bitpacked(ghtier_hash_table_t* table,
                                                             const ghtier_bitpacked_column_t* probe_keys,
                                                             ghtier_join_pair_t* pairs, uint64_t pairs_capacity,
                                                             void* stream, ghtier_join_result_t* result);

#ifdef __cplusplus
}
#endif

#endif /* GHTIER_GHTIER_KERNELS_H */
