/* ghtier C API, direct-access kernels (docs/kernels.md): kernels that read or write CPU-resident memory in
 * place from the GPU. Included by ghtier.h (include that); the same conventions hold: every function returns
 * a ghtier_status_t, streams are cudaStream_t passed as void* (NULL: the legacy default stream), pointers may
 * be device, pinned host or managed memory, or system memory where the platform lets the GPU reach it
 * (pageable memory on plain PCIe is refused with GHTIER_ERROR_UNSUPPORTED before anything is launched). */
#ifndef GHTIER_GHTIER_KERNELS_H
#define GHTIER_GHTIER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "ghtier.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------------
 * Copy, gather, scatter, row cache (include/ghtier/sm_copy.hpp, gather.hpp, sorted_gather.hpp,
 * scatter.hpp, row_cache.hpp, index_check.hpp).
 * ------------------------------------------------------------------------------------------------------ */

/** Type of the elements of an index list. */
typedef enum ghtier_index_type_t {
  GHTIER_INDEX_INT32 = 0, /**< int32_t */
  GHTIER_INDEX_INT64 = 1  /**< int64_t */
} ghtier_index_type_t;

/** A device-side record of out-of-range indices (IndexCheck): pass it to the index-checked calls below to
 * keep them asynchronous, then call ghtier_index_check_check once. Opaque; one per device. */
typedef struct ghtier_index_check ghtier_index_check_t;

/** Creates a record on the current device. */
ghtier_status_t ghtier_index_check_create(ghtier_index_check_t** check);
/** Destroys it; NULL is accepted. */
ghtier_status_t ghtier_index_check_destroy(ghtier_index_check_t* check);
/** Waits for the stream; GHTIER_ERROR_INVALID_ARGUMENT (with the first bad index in ghtier_last_error) if an
 * index was out of range since creation or the last check, which also clears the record. */
ghtier_status_t ghtier_index_check_check(ghtier_index_check_t* check, void* stream);

/** SM-driven copy of `bytes` (any alignment), ordered on `stream`. */
ghtier_status_t ghtier_sm_copy(void* dst, const void* src, size_t bytes, void* stream);
/** SM-driven 2D copy: `height` rows of `width_bytes`, rows `src_pitch` / `dst_pitch` bytes apart. */
ghtier_status_t ghtier_sm_copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width_bytes,
                                  size_t height, void* stream);

/** out[i] = table[indices[i]] for i < count, rows of row_bytes; table has num_rows rows. Out-of-range indices
 * give zero rows; with check == NULL the call waits for the stream and fails with
 * GHTIER_ERROR_INVALID_ARGUMENT naming one, else they are recorded in `check`. */
ghtier_status_t ghtier_gather(const void* table, size_t row_bytes, size_t num_rows, const void* indices,
                              ghtier_index_type_t index_type, size_t count, void* out, void* stream,
                              ghtier_index_check_t* check);
/** The same result as ghtier_gather, reading each distinct row once in address order (sorts the indices on
 * the GPU first): for large batches over large tables. count must be below 2^32. */
ghtier_status_t ghtier_sorted_gather(const void* table, size_t row_bytes, size_t num_rows, const void* indices,
                                     ghtier_index_type_t index_type, size_t count, void* out, void* stream,
                                     ghtier_index_check_t* check);
/** table[indices[i]] = rows[i] for i < count; out-of-range indices write nothing (reported as for gather).
 * Repeated indices: which row lands is unspecified. */
ghtier_status_t ghtier_scatter(const void* rows, size_t row_bytes, size_t count, const void* indices,
                               ghtier_index_type_t index_type, void* table, size_t num_rows, void* stream,
                               ghtier_index_check_t* check);

/** Copies of a table's hot rows in GPU memory, consulted first by ghtier_row_cache_gather. Opaque. */
typedef struct ghtier_row_cache ghtier_row_cache_t;

/** Caches the `hot_count` rows `hot_rows` (distinct ids, host memory) of the table; filled on `stream`. */
ghtier_status_t ghtier_row_cache_create(const void* table, size_t row_bytes, size_t num_rows, const int64_t* hot_rows,
                                        size_t hot_count, void* stream, ghtier_row_cache_t** cache);
/** Caches the `capacity_rows` rows with the highest `frequencies` (num_rows counts, host memory). */
ghtier_status_t ghtier_row_cache_create_from_frequencies(const void* table, size_t row_bytes, size_t num_rows,
                                                         const uint64_t* frequencies, size_t capacity_rows,
                                                         void* stream, ghtier_row_cache_t** cache);
/** Destroys the cache; NULL is accepted. */
ghtier_status_t ghtier_row_cache_destroy(ghtier_row_cache_t* cache);
/** ghtier_gather through the cache: cached rows from GPU memory, the rest from the table. */
ghtier_status_t ghtier_row_cache_gather(ghtier_row_cache_t* cache, const void* indices, ghtier_index_type_t index_type,
                                        size_t count, void* out, void* stream, ghtier_index_check_t* check);
/** Waits for the stream and reads the hit and miss counts; either output may be NULL. */
ghtier_status_t ghtier_row_cache_stats(ghtier_row_cache_t* cache, void* stream, uint64_t* hits, uint64_t* misses);
/** The number of cached rows and the device bytes the cache holds; either output may be NULL. */
ghtier_status_t ghtier_row_cache_info(const ghtier_row_cache_t* cache, size_t* cached_rows, size_t* device_bytes);

/* ------------------------------------------------------------------------------------------------------
 * Scan / aggregate, hash join, compressed columns (engineer E2 adds these below this line).
 * ------------------------------------------------------------------------------------------------------ */

#ifdef __cplusplus
}
#endif

#endif /* GHTIER_GHTIER_KERNELS_H */
