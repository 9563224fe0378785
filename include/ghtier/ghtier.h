/* ghtier C API: memory tiering for NVIDIA Grace Hopper, usable from C11, ctypes and cffi. See docs/c_api.md.
 *
 * Conventions (every function of ghtier.h, ghtier_engine.h and ghtier_kernels.h):
 * - Names are ghtier_<object>_<verb>; objects are destroyed with ..._destroy, counters read with
 *   ..._get_statistics.
 * - Every function returns a ghtier_status_t (GHTIER_SUCCESS = 0); outputs come through pointer arguments;
 *   ghtier_error_message() gives the calling thread's message for its last failure. No C++ exception
 *   crosses this boundary.
 * - Streams are cudaStream_t passed as void*, so this header needs no CUDA headers. NULL ALWAYS means CUDA's
 *   legacy default stream (as in cudaMemcpyAsync or a <<<...>>> launch), never "not stream-ordered": the
 *   synchronous forms are separate functions named ..._sync.
 * - Handles (runtime, engine, token, host registration, index check, row cache, hash table) are opaque
 *   64-bit ids, not addresses, from one registry: ids are never reused, and a destroyed, foreign or
 *   wrong-type handle is GHTIER_ERROR_INVALID_ARGUMENT, never a crash. Destroying NULL is a no-op.
 * - Input structs that can grow begin with struct_size (set it to sizeof the struct you were compiled
 *   with), so that they can grow without breaking old callers.
 * - A zero-byte transfer (prefetch, copy) is a valid no-op everywhere. */
#ifndef GHTIER_GHTIER_H
#define GHTIER_GHTIER_H

#include "export.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ghtier_status_t {
  GHTIER_SUCCESS = 0,
  GHTIER_ERROR_INVALID_ARGUMENT = 1,
  GHTIER_ERROR_NO_DEVICE = 2,
  GHTIER_ERROR_OUT_OF_MEMORY = 3,
  GHTIER_ERROR_OUT_OF_BUDGET = 4,
  GHTIER_ERROR_UNSUPPORTED = 5,
  GHTIER_ERROR_CUDA = 6,
  GHTIER_ERROR_NOT_FOUND = 7,
  GHTIER_ERROR_IO = 8,
  GHTIER_ERROR_INTERNAL = 9
} ghtier_status_t;

/* The version of this header (a build check keeps it equal to the CMake project version). */
#define GHTIER_VERSION_MAJOR 0
#define GHTIER_VERSION_MINOR 1
#define GHTIER_VERSION_PATCH 0

/** The loaded library's version (may differ from the header's macros); any output pointer may be NULL.
 *  Always succeeds and, like every successful call, clears the thread's last error. */
GHTIER_API ghtier_status_t ghtier_version_get(int* major, int* minor, int* patch);
/** Name of a status code ("GHTIER_ERROR_OUT_OF_BUDGET"); "GHTIER_UNKNOWN_STATUS" for other values.
 *  Static storage; does not touch the thread's last error. */
GHTIER_API const char* ghtier_status_name(ghtier_status_t status);
/** The calling thread's message for its last failed call; "" when none (or after a successful call).
 *  Valid until the thread's next ghtier call. Does not touch the last error itself. */
GHTIER_API const char* ghtier_error_message(void);
/** CUDA's cudaError_t value of the calling thread's last failed call, or 0 when CUDA was not the cause. */
GHTIER_API int ghtier_error_cuda(void);

/** Log levels; messages below the level set are dropped. */
typedef enum ghtier_log_level_t {
  GHTIER_LOG_DEBUG = 0,
  GHTIER_LOG_INFO = 1,
  GHTIER_LOG_WARN = 2, /**< the default (or the GHTIER_LOG environment variable: debug|info|warn|error|off) */
  GHTIER_LOG_ERROR = 3,
  GHTIER_LOG_OFF = 4
} ghtier_log_level_t;

/** Receives each log message (one line, no newline, NUL-terminated, valid only during the call). It may be
 *  called from any ghtier thread (engine watcher threads included), never twice at once: calls are
 *  serialised. It must not call ghtier functions and must not throw/longjmp. */
typedef void (*ghtier_log_sink_t)(ghtier_log_level_t level, const char* message, void* user_data);

/** Sends every later log message to sink(level, message, user_data) instead of stderr; NULL restores the
 *  default stderr sink. Process-wide. When this returns, no call to the previous sink is still running,
 *  so its user_data may be freed. */
GHTIER_API ghtier_status_t ghtier_log_set_sink(ghtier_log_sink_t sink, void* user_data);
/** Sets the process-wide log level (GHTIER_LOG_OFF: nothing). Other values are INVALID_ARGUMENT. */
GHTIER_API ghtier_status_t ghtier_log_set_level(ghtier_log_level_t level);

/* ------------------------------------------------------------------------------------------------------
 * Runtime, placement and allocation (docs/c_api.md). Option and result structs start with struct_size:
 * set it to sizeof(the struct) before the call. A smaller struct_size (from an older header) is accepted:
 * missing input fields take their defaults, missing output fields are not written. It must be a multiple
 * of 8 and at most the library's sizeof; 0 is invalid. New fields are only ever appended, each group
 * starting at a multiple of 8 bytes, so the struct_size of every published version is a field boundary.
 * ------------------------------------------------------------------------------------------------------ */

/** A runtime: one GPU's platform, memory tiers, budgets and policy. Opaque; thread-safe. */
typedef struct ghtier_runtime ghtier_runtime_t;

/** "No budget" for ghtier_runtime_set_budget / ghtier_runtime_get_budget. */
#define GHTIER_UNLIMITED ((size_t)-1)

typedef enum ghtier_memory_mode_t {
  GHTIER_MODE_DEVICE = 0,      /**< HBM from a stream-ordered pool */
  GHTIER_MODE_PINNED_HOST = 1, /**< page-locked host memory, pooled */
  GHTIER_MODE_MANAGED = 2,     /**< cudaMallocManaged: migrates on fault or prefetch */
  GHTIER_MODE_SYSTEM = 3       /**< plain mmap memory: GPU-reachable only through ATS or HMM */
} ghtier_memory_mode_t;

typedef enum ghtier_accessor_t {
  GHTIER_ACCESSOR_GPU = 0,
  GHTIER_ACCESSOR_CPU = 1,
  GHTIER_ACCESSOR_BOTH = 2
} ghtier_accessor_t;

typedef enum ghtier_frequency_t {
  GHTIER_FREQUENCY_HOT = 0,
  GHTIER_FREQUENCY_WARM = 1,
  GHTIER_FREQUENCY_COLD = 2,
  GHTIER_FREQUENCY_STREAMED_ONCE = 3
} ghtier_frequency_t;

typedef enum ghtier_location_t {
  GHTIER_LOCATION_NONE = 0,
  GHTIER_LOCATION_DEVICE = 1,
  GHTIER_LOCATION_HOST = 2
} ghtier_location_t;

typedef enum ghtier_policy_t {
  GHTIER_POLICY_SPILL = 0,          /**< device until its budget, then the host tier (the default) */
  GHTIER_POLICY_DEVICE_ONLY = 1,    /**< everything in HBM */
  GHTIER_POLICY_SIZE_THRESHOLD = 2, /**< at or above a size (default 64 MiB) to the host tier */
  GHTIER_POLICY_HOST_CACHE = 3,     /**< CPU memory the GPU reads in place */
  GHTIER_POLICY_UNIFIED = 4         /**< pages migrate on demand (system memory on ATS, else managed) */
} ghtier_policy_t;

typedef enum ghtier_advice_t {
  GHTIER_ADVICE_SET_READ_MOSTLY = 0,
  GHTIER_ADVICE_UNSET_READ_MOSTLY = 1,
  GHTIER_ADVICE_SET_PREFERRED_LOCATION = 2, /**< needs GHTIER_LOCATION_DEVICE or _HOST */
  GHTIER_ADVICE_UNSET_PREFERRED_LOCATION = 3,
  GHTIER_ADVICE_SET_ACCESSED_BY = 4,  /**< needs GHTIER_LOCATION_DEVICE or _HOST */
  GHTIER_ADVICE_UNSET_ACCESSED_BY = 5 /**< needs GHTIER_LOCATION_DEVICE or _HOST */
} ghtier_advice_t;

typedef enum ghtier_platform_class_t {
  GHTIER_PLATFORM_COHERENT_C2C = 0, /**< GH200 class: ATS over coherent NVLink-C2C */
  GHTIER_PLATFORM_HMM_PCIE = 1,     /**< PCIe with HMM: pageable access through page faults */
  GHTIER_PLATFORM_PCIE = 2          /**< PCIe, no pageable access */
} ghtier_platform_class_t;

typedef enum ghtier_host_access_t {
  GHTIER_HOST_ACCESS_NONE = 0,
  GHTIER_HOST_ACCESS_HMM = 1,
  GHTIER_HOST_ACCESS_ATS = 2
} ghtier_host_access_t;

typedef enum ghtier_residency_kind_t {
  GHTIER_RESIDENCY_DEVICE = 0,
  GHTIER_RESIDENCY_HOST = 1,
  GHTIER_RESIDENCY_MIXED = 2,
  GHTIER_RESIDENCY_NOT_POPULATED = 3,
  GHTIER_RESIDENCY_UNKNOWN = 4
} ghtier_residency_kind_t;

typedef enum ghtier_residency_source_t {
  GHTIER_RESIDENCY_SOURCE_ALLOCATION_MODE = 0,        /**< exact */
  GHTIER_RESIDENCY_SOURCE_PAGE_QUERY = 1,             /**< exact at the instant of the query */
  GHTIER_RESIDENCY_SOURCE_LAST_PREFETCH_LOCATION = 2, /**< approximate */
  GHTIER_RESIDENCY_SOURCE_PREFERRED_LOCATION = 3,     /**< approximate */
  GHTIER_RESIDENCY_SOURCE_NONE = 4
} ghtier_residency_source_t;

/** Options of ghtier_runtime_create. Zero means "default" in every field. */
typedef struct ghtier_runtime_options_t {
  size_t struct_size;          /**< sizeof(ghtier_runtime_options_t) */
  int32_t device;              /**< the GPU (default 0; -1: the current one); offline: any number >= 0 */
  int32_t policy;              /**< a ghtier_policy_t (default GHTIER_POLICY_SPILL) */
  size_t size_threshold_bytes; /**< for GHTIER_POLICY_SIZE_THRESHOLD; 0 = 64 MiB */
  size_t device_budget_bytes;  /**< 0 or GHTIER_UNLIMITED = no budget (a zero budget: ghtier_runtime_set_budget) */
  size_t pinned_host_budget_bytes;
  size_t managed_budget_bytes;
  size_t system_budget_bytes;
  /** NULL: the real GPU. "gh200-c2c", "pcie-gen5-hmm" or "pcie-gen5" (deprecated aliases "gh200",
   *  "x86-h100-hmm", "x86-h100-pcie" still work): an offline runtime on that profile that
   *  needs no GPU: placement (ghtier_runtime_resolve), budgets, statistics and platform info work; ghtier_memory_*
   *  calls return GHTIER_ERROR_UNSUPPORTED. For testing policies. */
  const char* assumed_profile;
  size_t pinned_reserve_bytes; /**< pinned host memory reserved up front (0 = on first use) */
} ghtier_runtime_options_t;

/** Request flags. */
#define GHTIER_REQUEST_READ_MOSTLY 0x1u

/** What some data is; the policy decides where it goes. */
typedef struct ghtier_placement_request_t {
  size_t struct_size; /**< sizeof(ghtier_placement_request_t); must cover at least `bytes` */
  size_t bytes;       /**< > 0 */
  const char* tag;    /**< free text kept with the allocation (copied), or NULL */
  int32_t accessor;   /**< a ghtier_accessor_t (default GPU) */
  int32_t frequency;  /**< a ghtier_frequency_t (default HOT) */
  uint32_t flags;     /**< GHTIER_REQUEST_* bits; other bits are invalid */
} ghtier_placement_request_t;

/** Accessed-by bits and placement flags. */
#define GHTIER_ACCESSED_BY_GPU 0x1u
#define GHTIER_ACCESSED_BY_CPU 0x2u
#define GHTIER_PLACEMENT_READ_MOSTLY 0x1u
#define GHTIER_PLACEMENT_PREFETCH_TO_GPU 0x2u

/** Where a request goes: the mode and the cudaMemAdvise set applied at allocation. */
typedef struct ghtier_placement_t {
  size_t struct_size;         /**< sizeof(ghtier_placement_t) */
  int32_t mode;               /**< a ghtier_memory_mode_t */
  int32_t preferred_location; /**< a ghtier_location_t */
  uint32_t accessed_by;       /**< GHTIER_ACCESSED_BY_* bits */
  uint32_t flags;             /**< GHTIER_PLACEMENT_* bits */
  char reason[256];           /**< why, for people; NUL-terminated, truncated if longer */
} ghtier_placement_t;

typedef struct ghtier_platform_info_t {
  size_t struct_size; /**< sizeof(ghtier_platform_info_t) */
  int32_t device;
  int32_t platform_class;     /**< a ghtier_platform_class_t */
  int32_t host_access;        /**< a ghtier_host_access_t */
  int32_t coherent;           /**< CPU-GPU coherent (atomics across) */
  int32_t managed_migrates;   /**< managed memory migrates; advise and prefetch work */
  int32_t gpu_reads_pageable; /**< a kernel may dereference malloc'd memory */
  int32_t compute_major;
  int32_t compute_minor;
  int32_t sm_count;
  int32_t async_engine_count;
  int32_t host_numa_id; /**< -1 when unknown */
  int32_t offline;      /**< 1 for a runtime on an assumed profile */
  size_t hbm_bytes;
  double h2d_gbps; /**< link figures (profile, or calibrated) in GB/s */
  double d2h_gbps;
  double bidirectional_gbps;
  double sm_read_gbps;
  double sm_write_gbps;
  double hbm_gbps;
  double latency_us;
  char name[256]; /**< the GPU's name */
} ghtier_platform_info_t;

/** One tier's counters. */
typedef struct ghtier_statistics_t {
  size_t struct_size;   /**< sizeof(ghtier_statistics_t) */
  size_t current_bytes; /**< live bytes now */
  size_t peak_bytes;
  size_t current_allocations;
  uint64_t total_allocations;
  uint64_t total_bytes;
  uint64_t failed_allocations; /**< refused by the budget or the resource */
  size_t budget_bytes;         /**< the tier's budget, GHTIER_UNLIMITED when none */
} ghtier_statistics_t;

typedef struct ghtier_residency_t {
  size_t struct_size; /**< sizeof(ghtier_residency_t) */
  int32_t where;      /**< a ghtier_residency_kind_t */
  int32_t numa_node;  /**< host NUMA node of all host bytes, -1 if several or unknown */
  size_t device_bytes;
  size_t host_bytes;
  size_t unknown_bytes;
  int32_t source;      /**< a ghtier_residency_source_t */
  int32_t approximate; /**< 1 when the source is the driver's last prefetch / preferred location */
} ghtier_residency_t;

typedef struct ghtier_allocation_info_t {
  size_t struct_size; /**< sizeof(ghtier_allocation_info_t) */
  void* base;         /**< start of the allocation containing the pointer */
  size_t bytes;
  int32_t mode;      /**< a ghtier_memory_mode_t */
  int32_t reserved0; /**< always 0 */
  char tag[128];     /**< the request's tag, NUL-terminated, truncated if longer */
} ghtier_allocation_info_t;

/* ---- runtime ------------------------------------------------------------------------------------- */

/** Creates a runtime. options may be NULL (defaults: device 0, spill policy, no budgets). Without a GPU
 *  this returns GHTIER_ERROR_NO_DEVICE unless options->assumed_profile names a profile. A device number
 *  that is not a GPU of this machine (or, offline, a negative one) is GHTIER_ERROR_INVALID_ARGUMENT.
 *  On failure *runtime is set to NULL. */
GHTIER_API ghtier_status_t ghtier_runtime_create(const ghtier_runtime_options_t* options, ghtier_runtime_t** runtime);
/** Destroys a runtime and frees every allocation still live through it. Before freeing, it waits for the
 *  copies of every engine over the runtime and for the device, and frees synchronously without touching the
 *  allocations' streams (which the caller may have destroyed already). NULL is a no-op; a destroyed, foreign or
 * wrong-type handle is INVALID_ARGUMENT. A call on the runtime that another thread is running at the time finishes on
 * the still-alive runtime; an allocation that ends after the destroy frees its memory and returns INVALID_ARGUMENT
 * (never a pointer already freed). Objects made from the runtime (engines, kernel handles) keep it alive. */
GHTIER_API ghtier_status_t ghtier_runtime_destroy(ghtier_runtime_t* runtime);
/** Fills *info (info->struct_size must be set). */
GHTIER_API ghtier_status_t ghtier_runtime_get_platform_info(ghtier_runtime_t* runtime, ghtier_platform_info_t* info);
/** Selects a built-in policy for later allocations; size_threshold_bytes is used by
 *  GHTIER_POLICY_SIZE_THRESHOLD (0 = 64 MiB). Atomic: a concurrent ghtier_runtime_get_policy sees the old
 *  or the new policy, never a mix. */
GHTIER_API ghtier_status_t ghtier_runtime_set_policy(ghtier_runtime_t* runtime, ghtier_policy_t policy,
                                                     size_t size_threshold_bytes);
/** The policy in force. A policy set from C++ that is not a built-in one is GHTIER_ERROR_UNSUPPORTED. */
GHTIER_API ghtier_status_t ghtier_runtime_get_policy(ghtier_runtime_t* runtime, ghtier_policy_t* policy);
/** What ghtier_memory_alloc would choose now for *request, without allocating. */
GHTIER_API ghtier_status_t ghtier_runtime_resolve(ghtier_runtime_t* runtime, const ghtier_placement_request_t* request,
                                                  ghtier_placement_t* placement);
/** Sets a tier's byte budget (GHTIER_UNLIMITED = none; 0 = nothing may be allocated there). */
GHTIER_API ghtier_status_t ghtier_runtime_set_budget(ghtier_runtime_t* runtime, ghtier_memory_mode_t mode,
                                                     size_t bytes);
/** A tier's budget (GHTIER_UNLIMITED = none) and the bytes it counts as used; either output may be NULL. */
GHTIER_API ghtier_status_t ghtier_runtime_get_budget(ghtier_runtime_t* runtime, ghtier_memory_mode_t mode,
                                                     size_t* budget, size_t* used);
/** One tier's counters (statistics->struct_size must be set). */
GHTIER_API ghtier_status_t ghtier_runtime_get_statistics(ghtier_runtime_t* runtime, ghtier_memory_mode_t mode,
                                                         ghtier_statistics_t* statistics);

/* ---- memory ---------------------------------------------------------------------------------------- */

/** Allocates as the policy decides (advice applied, prefetch queued), stream-ordered on `stream` (NULL: the
 *  legacy default stream): the memory may be used by work queued on that stream from now on. placement
 *  may be NULL. On failure *ptr is set to NULL. */
GHTIER_API ghtier_status_t ghtier_memory_alloc(ghtier_runtime_t* runtime, const ghtier_placement_request_t* request,
                                               void* stream, void** ptr, ghtier_placement_t* placement);
/** As ghtier_memory_alloc, not stream-ordered: the memory is ready for any stream and the CPU on return. */
GHTIER_API ghtier_status_t ghtier_memory_alloc_sync(ghtier_runtime_t* runtime,
                                                    const ghtier_placement_request_t* request, void** ptr,
                                                    ghtier_placement_t* placement);
/** Allocates bytes (> 0) in one mode, bypassing the policy, stream-ordered on `stream` (NULL: legacy). */
GHTIER_API ghtier_status_t ghtier_memory_alloc_mode(ghtier_runtime_t* runtime, ghtier_memory_mode_t mode, size_t bytes,
                                                    void* stream, void** ptr);
/** As ghtier_memory_alloc_mode, not stream-ordered. */
GHTIER_API ghtier_status_t ghtier_memory_alloc_mode_sync(ghtier_runtime_t* runtime, ghtier_memory_mode_t mode,
                                                         size_t bytes, void** ptr);
/** Frees what ghtier_memory_alloc* returned, stream-ordered on `stream` (NULL: the legacy default stream):
 *  the memory is reused only after the work queued on that stream before this call. The caller must ensure
 *  work on other streams that uses it is ordered before (an event). NULL ptr is a no-op; an unknown or
 *  already freed pointer is GHTIER_ERROR_NOT_FOUND; an interior pointer is INVALID_ARGUMENT. */
GHTIER_API ghtier_status_t ghtier_memory_free(ghtier_runtime_t* runtime, void* ptr, void* stream);
/** Frees at once, not stream-ordered: the caller must ensure no queued GPU work still uses the memory
 *  (e.g. synchronize first). Errors as ghtier_memory_free. */
GHTIER_API ghtier_status_t ghtier_memory_free_sync(ghtier_runtime_t* runtime, void* ptr);
/** Pointer-CHANGING move: copies the allocation at ptr into a new one of `mode`, ordered on `stream` (NULL:
 *  legacy default stream), frees the old one after the copy on that stream, and returns the new pointer in
 *  *new_ptr. On failure ptr stays valid and *new_ptr is NULL. */
GHTIER_API ghtier_status_t ghtier_memory_relocate(ghtier_runtime_t* runtime, void* ptr, ghtier_memory_mode_t mode,
                                                  void* stream, void** new_ptr);
/** As ghtier_memory_relocate, not stream-ordered: the copy is done and the old memory freed on return
 *  (the caller must ensure no queued GPU work still uses the old pointer). */
GHTIER_API ghtier_status_t ghtier_memory_relocate_sync(ghtier_runtime_t* runtime, void* ptr, ghtier_memory_mode_t mode,
                                                       void** new_ptr);
/** Pointer-stable: migrates [ptr, ptr + bytes) of a managed (or, on ATS/HMM, system) allocation to
 *  `location`, queued on `stream` (NULL: legacy default stream). Device and pinned memory cannot migrate:
 *  GHTIER_ERROR_UNSUPPORTED (as in ghtier_engine_prefetch). Zero bytes is a valid no-op. */
GHTIER_API ghtier_status_t ghtier_memory_prefetch(ghtier_runtime_t* runtime, const void* ptr, size_t bytes,
                                                  ghtier_location_t location, void* stream);
/** Pointer-stable: one cudaMemAdvise on [ptr, ptr + bytes); location as ghtier_advice_t says. */
GHTIER_API ghtier_status_t ghtier_memory_advise(ghtier_runtime_t* runtime, const void* ptr, size_t bytes,
                                                ghtier_advice_t advice, ghtier_location_t location);
/** Where the bytes of [ptr, ptr + bytes) are now (see ghtier_residency_source_t for how exact). */
GHTIER_API ghtier_status_t ghtier_memory_get_residency(ghtier_runtime_t* runtime, const void* ptr, size_t bytes,
                                                       ghtier_residency_t* residency);
/** Describes the live allocation of this runtime containing ptr (interior pointers too). */
GHTIER_API ghtier_status_t ghtier_memory_get_info(ghtier_runtime_t* runtime, const void* ptr,
                                                  ghtier_allocation_info_t* info);

/* The direct-access kernels (copy, gather, scan/aggregate, join, compressed columns). */
#include "ghtier_kernels.h"
/* The transfer engine (asynchronous copies and prefetches between tiers, completion tokens). */
#include "ghtier_engine.h"

#ifdef __cplusplus
}
#endif

#endif /* GHTIER_GHTIER_H */
