/* ghtier C API, transfer engine (docs/engine.md): asynchronous copies between any two memory tiers,
 * prefetches of managed/system memory, batches of small copies, completion tokens. Included by ghtier.h
 * (include that); the same conventions hold: every function returns a ghtier_status_t, outputs come through
 * pointers, handles are opaque ids from the one handle registry that are never reused (a destroyed, foreign
 * or wrong-type handle is GHTIER_ERROR_INVALID_ARGUMENT, not a crash), streams and events are cudaStream_t /
 * cudaEvent_t passed as void* (a NULL stream is CUDA's legacy default stream), option structs start with
 * struct_size and zero means "default" in every field. Zero bytes is a valid no-op: the token is already
 * completed. */
#ifndef GHTIER_GHTIER_ENGINE_H
#define GHTIER_GHTIER_ENGINE_H

#include "export.h"

#include <stddef.h>
#include <stdint.h>

#include "ghtier.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A transfer engine: one per GPU, made from a runtime (its platform, device and allocation tracker).
 *  Thread-safe. */
typedef struct ghtier_engine ghtier_engine_t;
/** The handle of one submitted request. Destroying it does not cancel the request. */
typedef struct ghtier_token ghtier_token_t;
/** A page-locked registration of a long-lived host buffer (cudaHostRegister until destroyed). */
typedef struct ghtier_host_registration ghtier_host_registration_t;

typedef enum ghtier_priority_t {
  GHTIER_PRIORITY_DEFAULT = 0,   /**< background for copies and batches, urgent for prefetches */
  GHTIER_PRIORITY_URGENT = 1,    /**< started at once; overtakes background work within a chunk */
  GHTIER_PRIORITY_BACKGROUND = 2 /**< started a few chunks at a time */
} ghtier_priority_t;

typedef enum ghtier_transfer_state_t {
  GHTIER_TRANSFER_PENDING = 0,
  GHTIER_TRANSFER_COMPLETED = 1,
  GHTIER_TRANSFER_FAILED = 2,    /**< a CUDA call failed */
  GHTIER_TRANSFER_CANCELLED = 3, /**< the engine was destroyed before the request started */
  GHTIER_TRANSFER_CAPTURED = 4   /**< recorded into a CUDA graph being captured */
} ghtier_transfer_state_t;

typedef enum ghtier_prefetch_target_t {
  GHTIER_PREFETCH_DEVICE = 0, /**< the engine's GPU */
  GHTIER_PREFETCH_HOST = 1    /**< CPU memory */
} ghtier_prefetch_target_t;

typedef enum ghtier_batch_mechanism_t {
  GHTIER_BATCH_AUTOMATIC = 0,   /**< the SM kernel for many small GPU-reachable items, else the copy engine */
  GHTIER_BATCH_COPY_ENGINE = 1, /**< cudaMemcpyBatchAsync (a loop of cudaMemcpyAsync where refused) */
  GHTIER_BATCH_SM_KERNEL = 2    /**< one kernel copies the items (GPU-reachable memory only) */
} ghtier_batch_mechanism_t;

/** Options of ghtier_engine_create (NULL: all defaults). */
typedef struct ghtier_engine_options_t {
  size_t struct_size;             /**< sizeof(ghtier_engine_options_t) */
  size_t chunk_bytes;             /**< largest chunk of a copy or prefetch; 0 = 16 MiB */
  size_t background_window_bytes; /**< background bytes in flight per direction; 0 = 2 chunks */
  size_t staging_chunk_bytes;     /**< staging slot size; 0 = 8 MiB */
  size_t staging_slots;           /**< slots per staging ring; 0 = 8 */
  size_t batch_max_items;         /**< items per batch call; 0 = 2048 */
  uint32_t copy_threads;          /**< CPU copy threads; 0 = hardware threads - 4, within 2..12 */
  int32_t batch_mechanism;        /**< a ghtier_batch_mechanism_t; 0 = automatic */
  int32_t disable_batch_api;      /**< nonzero: batches always as a loop of cudaMemcpyAsync */
  int32_t reserved;               /**< 0 */
} ghtier_engine_options_t;

/** Called once per request, on the engine's callback thread, after it ended; it must not wait on its own
 *  token. `state` is COMPLETED, FAILED or CANCELLED. */
typedef void (*ghtier_transfer_callback_t)(void* user_data, ghtier_transfer_state_t state);

/** Per-request options (NULL: all defaults). */
typedef struct ghtier_transfer_options_t {
  size_t struct_size;        /**< sizeof(ghtier_transfer_options_t) */
  int32_t priority;          /**< a ghtier_priority_t */
  int32_t reserved;          /**< 0 */
  void* const* wait_streams; /**< the request starts after the work on these (cudaStream_t; NULL: the
                                  legacy default stream) so far; a capturing stream records the
                                  request into its graph instead */
  size_t num_wait_streams;
  void* const* wait_events; /**< ... and after these (cudaEvent_t) as recorded now */
  size_t num_wait_events;
  ghtier_transfer_callback_t on_complete; /**< may be NULL */
  void* user_data;                        /**< passed to on_complete */
} ghtier_transfer_options_t;

/** One direction (lane) of the engine. */
typedef struct ghtier_lane_statistics_t {
  uint64_t requests;    /**< request parts finished */
  uint64_t bytes;       /**< bytes of the parts that completed */
  uint64_t chunks;      /**< chunks started */
  double busy_seconds;  /**< time with work in flight */
  double achieved_gbps; /**< bytes / busy_seconds, 1e9 bytes/s */
  uint64_t queued;      /**< requests queued now */
  uint64_t peak_queued;
} ghtier_lane_statistics_t;

typedef struct ghtier_engine_statistics_t {
  size_t struct_size;                 /**< sizeof(ghtier_engine_statistics_t) */
  ghtier_lane_statistics_t to_device; /**< host -> device copies, prefetches to the device */
  ghtier_lane_statistics_t to_host;   /**< device -> host copies (offloads), prefetches to the host */
  ghtier_lane_statistics_t local;     /**< device <-> device, host <-> host */
  uint64_t staged_to_device_bytes;    /**< bytes that went through the staging rings */
  uint64_t staged_to_host_bytes;
  uint64_t staging_slots_in_use;      /**< both rings, now */
  uint64_t staging_peak_slots_in_use; /**< both rings, most at once (sum of each ring's peak) */
  uint64_t submitted;
  uint64_t completed;
  uint64_t failed;
  uint64_t cancelled;
  uint64_t captured;
  uint64_t batch_calls;
  uint64_t batch_fallback_calls;
  uint64_t queue_depth;
  uint64_t sm_batch_launches; /**< of batch_calls, SM batch kernel launches */
} ghtier_engine_statistics_t;

/** Creates an engine on the runtime's GPU. The engine keeps the runtime's resources alive, and
 *  ghtier_runtime_destroy waits for the engine's copies before it frees what is still live. An offline runtime
 * (assumed_profile) has no GPU: GHTIER_ERROR_UNSUPPORTED. On failure *engine is set to NULL. */
GHTIER_API ghtier_status_t ghtier_engine_create(ghtier_runtime_t* runtime, const ghtier_engine_options_t* options,
                                                ghtier_engine_t** engine);
/** Destroys an engine: requests not yet started are cancelled (their callbacks run), started ones finish.
 *  Tokens stay valid. NULL is a no-op; a destroyed handle is GHTIER_ERROR_INVALID_ARGUMENT. A call on the
 *  engine that another thread is running at the time finishes first (the engine lives until it returns). */
GHTIER_API ghtier_status_t ghtier_engine_destroy(ghtier_engine_t* engine);

/** Queues a copy of `bytes` from src to dst (any tiers). *token receives the request's handle. Errors: NULL
 *  pointers, overlapping ranges, a range past the end of a ghtier allocation (INVALID_ARGUMENT), a staged
 *  copy inside a graph capture (UNSUPPORTED). Zero bytes: a valid no-op, a token already completed. */
GHTIER_API ghtier_status_t ghtier_engine_copy(ghtier_engine_t* engine, void* dst, const void* src, size_t bytes,
                                              const ghtier_transfer_options_t* options, ghtier_token_t** token);
/** Queues a prefetch of a managed (or, with ATS/HMM, system) range to `target`. Device and pinned memory, and
 *  memory the platform cannot migrate, are GHTIER_ERROR_UNSUPPORTED (as in ghtier_memory_prefetch). Zero
 *  bytes: a valid no-op, a token already completed. */
GHTIER_API ghtier_status_t ghtier_engine_prefetch(ghtier_engine_t* engine, const void* ptr, size_t bytes,
                                                  ghtier_prefetch_target_t target,
                                                  const ghtier_transfer_options_t* options, ghtier_token_t** token);
/** Queues count copies (dsts[i] <- srcs[i], sizes[i] bytes) as one request; destinations must not overlap. */
GHTIER_API ghtier_status_t ghtier_engine_copy_batch(ghtier_engine_t* engine, void* const* dsts, const void* const* srcs,
                                                    const size_t* sizes, size_t count,
                                                    const ghtier_transfer_options_t* options, ghtier_token_t** token);
/** Blocks until every request submitted so far has ended and its callback has run (not from a callback). */
GHTIER_API ghtier_status_t ghtier_engine_synchronize(ghtier_engine_t* engine);
/** Fills *statistics (statistics->struct_size must be set). */
GHTIER_API ghtier_status_t ghtier_engine_get_statistics(ghtier_engine_t* engine,
                                                        ghtier_engine_statistics_t* statistics);

/** *ready = 1 once the request has ended (and its callback has run), else 0. Does not block. */
GHTIER_API ghtier_status_t ghtier_token_poll(ghtier_token_t* token, int* ready);
/** Blocks until the request has ended; *state (may be NULL) says how. Returns GHTIER_SUCCESS when it
 *  completed, was cancelled or captured, and the failure's own status (message in ghtier_error_message) when
 *  it failed. */
GHTIER_API ghtier_status_t ghtier_token_wait(ghtier_token_t* token, ghtier_transfer_state_t* state);
/** Makes work enqueued on `stream` (a cudaStream_t; NULL: the legacy default stream) after this call wait
 *  for the request's bytes, without blocking the host once the request is on its copy stream (see
 *  docs/engine.md for when it blocks).
 *  A cancelled request is GHTIER_ERROR_INVALID_ARGUMENT; a failed one returns its failure. */
GHTIER_API ghtier_status_t ghtier_token_wait_on_stream(ghtier_token_t* token, void* stream);
/** Destroys the handle (the request goes on). NULL is a no-op; using a destroyed handle afterwards is
 *  GHTIER_ERROR_INVALID_ARGUMENT. */
GHTIER_API ghtier_status_t ghtier_token_destroy(ghtier_token_t* token);

/** Page-locks [ptr, ptr + bytes) of a long-lived host buffer so that copies from and to it run at the
 *  pinned rate. Already page-locked memory is INVALID_ARGUMENT. */
GHTIER_API ghtier_status_t ghtier_host_registration_create(void* ptr, size_t bytes,
                                                           ghtier_host_registration_t** registration);
/** Unregisters. NULL is a no-op; a destroyed handle is GHTIER_ERROR_INVALID_ARGUMENT. */
GHTIER_API ghtier_status_t ghtier_host_registration_destroy(ghtier_host_registration_t* registration);

#ifdef __cplusplus
}
#endif

#endif /* GHTIER_GHTIER_ENGINE_H */
