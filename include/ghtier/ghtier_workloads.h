/* ghtier C API, workloads: activation offload for training (docs/activation_offload.md): the planner
 * (keep / offload / recompute per layer, and the prefetch lookahead) and the offloader that carries a plan
 * out. The conventions of ghtier.h hold: every function returns a ghtier_status_t, outputs come through
 * pointers, the offloader is an opaque id from the one handle registry (a destroyed or wrong-type handle is
 * GHTIER_ERROR_INVALID_ARGUMENT, not a crash), streams are cudaStream_t passed as void* (NULL: CUDA's
 * legacy default stream), option and result structs start with struct_size and zero means "default". */
#ifndef GHTIER_GHTIER_WORKLOADS_H
#define GHTIER_GHTIER_WORKLOADS_H

#include "export.h"

#include <stddef.h>
#include <stdint.h>

#include "ghtier.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------------
 * Activation planner (pure: works on an offline runtime, ghtier_runtime_options_t.assumed_profile).
 * ------------------------------------------------------------------------------------------------------ */

typedef enum ghtier_layer_action_t {
  GHTIER_LAYER_KEEP = 0,     /**< activations stay on the device */
  GHTIER_LAYER_OFFLOAD = 1,  /**< copied to host memory behind the forward pass, back ahead of the backward */
  GHTIER_LAYER_RECOMPUTE = 2 /**< dropped; the layer's forward runs again in the backward pass */
} ghtier_layer_action_t;

/** One layer of one training step (an array element: fixed layout, no struct_size). */
typedef struct ghtier_activation_layer_profile_t {
  double forward_seconds;
  double backward_seconds;   /**< without recompute */
  uint64_t activation_bytes; /**< distinct bytes autograd keeps for the backward */
  uint64_t input_bytes;      /**< what a recomputed layer keeps */
} ghtier_activation_layer_profile_t;

typedef struct ghtier_activation_plan_request_t {
  size_t struct_size;                              /**< sizeof(ghtier_activation_plan_request_t) */
  const ghtier_activation_layer_profile_t* layers; /**< num_layers entries, forward order */
  size_t num_layers;
  size_t device_budget_bytes; /**< activation bytes on the device at the peak; 0 or GHTIER_UNLIMITED: none */
  size_t host_budget_bytes;   /**< offloaded bytes at once; 0 or GHTIER_UNLIMITED: none */
  size_t max_lookahead;       /**< largest prefetch lookahead tried; 0: every one */
  double h2d_gbps;            /**< the link; all three 0: the runtime's link model */
  double d2h_gbps;
  double latency_us;
  /** NULL: the planner chooses every layer's action. Else num_layers ghtier_layer_action_t values kept as given
   *  (e.g. every layer offloaded): only the lookahead is chosen (the shortest step, then the fewest device
   *  bytes), and the result predicts those actions. A struct_size that ends before this field (an older
   *  header) reads as NULL. */
  const int32_t* fixed_actions;
} ghtier_activation_plan_request_t;

typedef struct ghtier_activation_plan_result_t {
  size_t struct_size; /**< sizeof(ghtier_activation_plan_result_t) */
  size_t prefetch_lookahead;
  int32_t fits_budget; /**< 0: no plan fits the device budget; the plan returned is the leanest found */
  int32_t reserved;
  double step_seconds; /**< predicted for the plan */
  double forward_seconds;
  double backward_seconds;
  double bound_seconds; /**< max(forward, offloaded / d2h) + max(backward, offloaded / h2d) */
  uint64_t peak_device_bytes;
  uint64_t offloaded_bytes;
  uint64_t recomputed_layers;
  double keep_all_step_seconds;
  uint64_t keep_all_peak_device_bytes;
  double recompute_all_step_seconds;
  uint64_t recompute_all_peak_device_bytes;
} ghtier_activation_plan_result_t;

/** Plans a step: writes one ghtier_layer_action_t per layer into actions[0 .. num_layers) and the
 *  prediction into *result (its struct_size must be set). A budget no plan meets is not an error: fits_budget
 *  is 0. Errors: NULL or empty layers, negative or non-finite times (the message names the layer),
 *  INVALID_ARGUMENT. */
GHTIER_API ghtier_status_t ghtier_activation_plan(ghtier_runtime_t* runtime,
                                                  const ghtier_activation_plan_request_t* request, int32_t* actions,
                                                  ghtier_activation_plan_result_t* result);

/* ------------------------------------------------------------------------------------------------------
 * Activation offloader: one host arena reserved at creation, a transfer engine of its own on the runtime's
 * GPU (background D2H lane, urgent H2D lane). Activation handles are plain 64-bit numbers of one offloader.
 * ------------------------------------------------------------------------------------------------------ */

typedef struct ghtier_activation_offloader ghtier_activation_offloader_t;

typedef struct ghtier_activation_offload_options_t {
  size_t struct_size;           /**< sizeof(ghtier_activation_offload_options_t) */
  size_t host_arena_bytes;      /**< the host budget, reserved at creation; must be > 0 */
  size_t min_offload_bytes;     /**< smaller tensors stay on the GPU; 0: from the link model */
  double min_copy_microseconds; /**< with min_offload_bytes 0: a copy shorter than this is not worth it; 0 = 5 */
} ghtier_activation_offload_options_t;

typedef struct ghtier_activation_offload_statistics_t {
  size_t struct_size; /**< sizeof(ghtier_activation_offload_statistics_t) */
  uint64_t saves;
  uint64_t deduplicated_saves; /**< saves of a storage already saved and still held: no second copy */
  uint64_t offloaded_bytes;
  uint64_t restored_bytes;
  uint64_t live_handles;
  uint64_t arena_bytes;
  uint64_t arena_used_bytes;
  uint64_t arena_peak_bytes;
  uint64_t min_offload_bytes; /**< the threshold in force */
} ghtier_activation_offload_statistics_t;

/** Creates an offloader on the runtime's GPU (with a transfer engine of default options), reserving the host
 *  arena (pinned, on the GPU's host NUMA node). Errors: host_arena_bytes 0 (INVALID_ARGUMENT), an offline runtime
 *  (UNSUPPORTED), an arena that cannot be reserved (OUT_OF_BUDGET / OUT_OF_MEMORY). *offloader is NULL on
 *  failure. */
GHTIER_API ghtier_status_t ghtier_activation_offloader_create(ghtier_runtime_t* runtime,
                                                              const ghtier_activation_offload_options_t* options,
                                                              ghtier_activation_offloader_t** offloader);
/** Waits for the copies that touch the arena, then frees it and every restore buffer the offloader
 *  allocated. NULL is a no-op. */
GHTIER_API ghtier_status_t ghtier_activation_offloader_destroy(ghtier_activation_offloader_t* offloader);
/** Later saves belong to `layer` (ghtier_activation_offloader_prefetch_layer brings them back together). */
GHTIER_API ghtier_status_t ghtier_activation_offloader_begin_layer(ghtier_activation_offloader_t* offloader,
                                                                   uint64_t layer);
/** Later saves belong to no layer. */
GHTIER_API ghtier_status_t ghtier_activation_offloader_end_layer(ghtier_activation_offloader_t* offloader);
/** Queues a background D2H of [ptr, ptr + bytes) after the work on `stream` so far; *handle receives its
 *  handle. Keep the device memory unchanged until ..._device_released says 1. A save of the same ptr and
 *  bytes while an earlier one is held returns the same handle (release each save). A full arena is
 *  GHTIER_ERROR_OUT_OF_BUDGET naming the arena's size; nothing was queued. */
GHTIER_API ghtier_status_t ghtier_activation_offloader_save(ghtier_activation_offloader_t* offloader, const void* ptr,
                                                            size_t bytes, void* stream, uint64_t* handle);
/** *released = 1 once the D2H has finished (the device memory may be reused), else 0. Never blocks. */
GHTIER_API ghtier_status_t ghtier_activation_offloader_device_released(ghtier_activation_offloader_t* offloader,
                                                                       uint64_t handle, int* released);
/** Queues the urgent H2D into device_dst (the caller's device memory), or with NULL into a buffer the
 *  offloader allocates (freed at release). Already prefetched: a no-op. */
GHTIER_API ghtier_status_t ghtier_activation_offloader_prefetch(ghtier_activation_offloader_t* offloader,
                                                                uint64_t handle, void* device_dst);
/** Prefetches every live, not yet prefetched handle of `layer` into offloader-allocated buffers; *queued
 *  (may be NULL) receives how many. */
GHTIER_API ghtier_status_t ghtier_activation_offloader_prefetch_layer(ghtier_activation_offloader_t* offloader,
                                                                      uint64_t layer, size_t* queued);
/** Makes `stream` wait for the handle's bytes (no host sync) and gives their device pointer (valid until
 *  release). Prefetches first if needed. */
GHTIER_API ghtier_status_t ghtier_activation_offloader_restore(ghtier_activation_offloader_t* offloader,
                                                               uint64_t handle, void* stream, void** device_ptr);
/** Drops one save of the handle; the last one returns its arena block once no copy touches it. */
GHTIER_API ghtier_status_t ghtier_activation_offloader_release(ghtier_activation_offloader_t* offloader,
                                                               uint64_t handle);
/** Fills *statistics (its struct_size must be set). */
GHTIER_API ghtier_status_t ghtier_activation_offloader_get_statistics(
    ghtier_activation_offloader_t* offloader, ghtier_activation_offload_statistics_t* statistics);

/* ------------------------------------------------------------------------------------------------------
 * Weight streaming (docs/weight_streaming.md): models larger than the device budget. The planner (pure:
 * works on an offline runtime) and the streamer that carries a plan out: resident layers, a ring of device
 * slots for the streamed rest, in-place reads on GH200, a budget that can change between passes.
 * ------------------------------------------------------------------------------------------------------ */

typedef enum ghtier_weight_placement_t {
  GHTIER_WEIGHT_RESIDENT = 0, /**< kept in device memory */
  GHTIER_WEIGHT_STREAMED = 1, /**< copied into a ring slot ahead of its compute */
  GHTIER_WEIGHT_IN_PLACE = 2  /**< read by the kernels from host memory over the link (GH200) */
} ghtier_weight_placement_t;

/** One layer of one pass (an array element: fixed layout, no struct_size). */
typedef struct ghtier_weight_layer_profile_t {
  uint64_t weight_bytes;  /**< the layer's weights together */
  double compute_seconds; /**< its compute with the weights in device memory */
} ghtier_weight_layer_profile_t;

typedef struct ghtier_weight_plan_request_t {
  size_t struct_size;                          /**< sizeof(ghtier_weight_plan_request_t) */
  const ghtier_weight_layer_profile_t* layers; /**< num_layers entries, in pass order */
  size_t num_layers;
  size_t device_budget_bytes; /**< resident layers plus the ring */
  size_t max_slots;           /**< most ring slots tried; 0 = 8 */
  int32_t allow_in_place;     /**< 1: kernels may read host weights in place where that is faster */
  int32_t hedge_compute; /**< 1: the compute times are estimates (see WeightPlanRequest::hedge_compute); 0: exact */
  double h2d_gbps;       /**< the link; h2d_gbps and sm_read_gbps both 0: the runtime's link model */
  double sm_read_gbps;
  double latency_us;
} ghtier_weight_plan_request_t;

typedef struct ghtier_weight_plan_result_t {
  size_t struct_size; /**< sizeof(ghtier_weight_plan_result_t) */
  size_t ring_slots;
  uint64_t slot_bytes;
  double step_seconds;       /**< predicted pass, steady state */
  double first_step_seconds; /**< the first pass, from an empty ring */
  double bound_seconds;      /**< max(compute of every layer resident, streamed bytes / h2d) */
  uint64_t resident_bytes;
  uint64_t streamed_bytes;
  uint64_t in_place_bytes;
  uint64_t device_bytes;
  double all_resident_step_seconds;
  double naive_step_seconds; /**< copy each layer, then compute it, no overlap */
} ghtier_weight_plan_result_t;

/** Plans: writes one ghtier_weight_placement_t per layer into placements[0 .. num_layers) and the prediction
 *  into *result (its struct_size must be set). Errors: NULL or empty layers, negative or non-finite times
 *  (INVALID_ARGUMENT); a budget below one ring slot for the largest layer (OUT_OF_BUDGET, the message gives
 *  the minimum). */
GHTIER_API ghtier_status_t ghtier_weight_plan(ghtier_runtime_t* runtime, const ghtier_weight_plan_request_t* request,
                                              int32_t* placements, ghtier_weight_plan_result_t* result);

typedef struct ghtier_weight_streamer ghtier_weight_streamer_t;

/** One weight tensor in host memory (pinned; on GH200 also system memory). */
typedef struct ghtier_weight_tensor_t {
  const void* host;
  uint64_t bytes;
} ghtier_weight_tensor_t;

typedef struct ghtier_weight_streamer_options_t {
  size_t struct_size;         /**< sizeof(ghtier_weight_streamer_options_t) */
  size_t device_budget_bytes; /**< resident layers plus the ring; must reach the minimum */
  size_t max_slots;           /**< 0 = 8 */
  int32_t in_place;           /**< 0: where the platform reads host memory coherently (GH200), 1: on, 2: off */
  int32_t hedge_compute;      /**< 1: the layers' compute times are estimates: plan for longer ones too; 0: exact */
} ghtier_weight_streamer_options_t;

typedef struct ghtier_weight_streamer_statistics_t {
  size_t struct_size; /**< sizeof(ghtier_weight_streamer_statistics_t) */
  uint64_t acquires;
  uint64_t prefetch_copies;
  uint64_t urgent_copies; /**< layers not in a slot when acquired (a changed order) */
  uint64_t copied_bytes;
  uint64_t budget_changes;
  uint64_t promoted_layers;
  uint64_t demoted_layers;
  double last_budget_change_seconds;
  uint64_t ring_slots;
  uint64_t slot_bytes;
  uint64_t resident_layers;
  uint64_t device_bytes;
} ghtier_weight_streamer_statistics_t;

/** Creates a streamer on the runtime's GPU (with a transfer engine of its own). Layer i has
 *  layer_tensor_counts[i] tensors, taken in order from `tensors` (num_tensors in all);
 *  layer_compute_seconds may be NULL (unknown). The host tensors must stay valid while the streamer lives.
 *  Errors: NULL or empty arrays, counts that do not add up, a null or empty tensor (INVALID_ARGUMENT), an
 *  offline runtime (UNSUPPORTED), a budget below the minimum (OUT_OF_BUDGET, naming it), OUT_OF_MEMORY.
 *  *streamer is NULL on failure. */
GHTIER_API ghtier_status_t ghtier_weight_streamer_create(ghtier_runtime_t* runtime,
                                                         const ghtier_weight_tensor_t* tensors, size_t num_tensors,
                                                         const size_t* layer_tensor_counts,
                                                         const double* layer_compute_seconds, size_t num_layers,
                                                         const ghtier_weight_streamer_options_t* options,
                                                         ghtier_weight_streamer_t** streamer);
/** Waits for copies in flight and for the work that released layers, then frees. NULL is a no-op. */
GHTIER_API ghtier_status_t ghtier_weight_streamer_destroy(ghtier_weight_streamer_t* streamer);
/** Makes `stream` wait for the layer's weights (no host sync) and writes one device pointer per tensor into
 *  device_ptrs (capacity entries; fewer than the layer's tensors is INVALID_ARGUMENT). Errors: an unknown
 *  layer (NOT_FOUND), every slot held by acquired layers (OUT_OF_BUDGET). */
GHTIER_API ghtier_status_t ghtier_weight_streamer_acquire(ghtier_weight_streamer_t* streamer, size_t layer,
                                                          void* stream, void** device_ptrs, size_t capacity);
/** The slot may be reused once `stream`'s work so far is done. A layer not acquired: INVALID_ARGUMENT. */
GHTIER_API ghtier_status_t ghtier_weight_streamer_release(ghtier_weight_streamer_t* streamer, size_t layer,
                                                          void* stream);
/** The order passes touch the layers (each once; it repeats); prefetch follows it. */
GHTIER_API ghtier_status_t ghtier_weight_streamer_set_order(ghtier_weight_streamer_t* streamer, const size_t* order,
                                                            size_t count);
/** Re-plans between passes (no layer acquired); waits for promoted layers' copies. Below the minimum:
 *  OUT_OF_BUDGET naming it, nothing changed. */
GHTIER_API ghtier_status_t ghtier_weight_streamer_set_budget(ghtier_weight_streamer_t* streamer,
                                                             size_t device_budget_bytes);
/** The plan in force: placements (num_layers entries, may be NULL) and *result (may be NULL). */
GHTIER_API ghtier_status_t ghtier_weight_streamer_get_plan(ghtier_weight_streamer_t* streamer, int32_t* placements,
                                                           size_t num_layers, ghtier_weight_plan_result_t* result);
/** Fills *statistics (its struct_size must be set). */
GHTIER_API ghtier_status_t ghtier_weight_streamer_get_statistics(ghtier_weight_streamer_t* streamer,
                                                                 ghtier_weight_streamer_statistics_t* statistics);

/* ------------------------------------------------------------------------------------------------------
 * KV cache for serving (docs/kv_cache.md): the reload-vs-recompute planner (pure) and the paged store whose
 * sessions move between a device block pool and a pinned host block pool. Session ids are plain 64-bit
 * numbers of one store; block indices are 32-bit offsets into the device pool (block b at pool + b x
 * block_bytes).
 * ------------------------------------------------------------------------------------------------------ */

/** The shape of one KV block (every block of a store has it). All fields > 0. */
typedef struct ghtier_kv_block_shape_t {
  size_t tokens_per_block;
  size_t layers;
  size_t kv_heads;
  size_t head_dim;
  size_t dtype_bytes;
} ghtier_kv_block_shape_t;

typedef enum ghtier_kv_tier_t {
  GHTIER_KV_TIER_DEVICE = 0,
  GHTIER_KV_TIER_HOST = 1,
  GHTIER_KV_TIER_FILE = 2,
  GHTIER_KV_TIER_NONE = 3
} ghtier_kv_tier_t;

typedef enum ghtier_kv_resume_action_t {
  GHTIER_KV_RESIDENT = 0, /**< already on the device */
  GHTIER_KV_RELOAD = 1,   /**< copy the cached blocks back, prefill only the uncached tail */
  GHTIER_KV_RECOMPUTE = 2 /**< prefill the whole context */
} ghtier_kv_resume_action_t;

typedef struct ghtier_kv_resume_request_t {
  size_t struct_size; /**< sizeof(ghtier_kv_resume_request_t) */
  ghtier_kv_block_shape_t shape;
  uint64_t context_tokens;
  uint64_t cached_tokens; /**< leading tokens whose KV is stored; at most context_tokens */
  int32_t tier;           /**< a ghtier_kv_tier_t: where the cached blocks are */
  int32_t reserved;
  double prefill_tokens_per_second; /**< the model's prefill rate, > 0 */
  double file_read_gbps;            /**< with GHTIER_KV_TIER_FILE, > 0 */
  double h2d_gbps;                  /**< the link; both 0: the runtime's link model */
  double latency_us;
} ghtier_kv_resume_request_t;

typedef struct ghtier_kv_resume_plan_t {
  size_t struct_size; /**< sizeof(ghtier_kv_resume_plan_t) */
  int32_t action;     /**< a ghtier_kv_resume_action_t */
  int32_t reserved;
  double predicted_seconds;
  double reload_seconds;    /**< batched restore + prefill of the uncached tail */
  double recompute_seconds; /**< prefill of the whole context */
  double first_layer_seconds;
  double per_block_copy_seconds; /**< the same restore as one copy per block and layer */
  uint64_t reload_bytes;
  uint64_t prefill_tokens;
  double speedup; /**< recompute_seconds / predicted_seconds */
} ghtier_kv_resume_plan_t;

/** Reload vs recompute for one returning session (works on an offline runtime). Errors: NULL arguments, an
 *  invalid shape, cached > context tokens, a rate that is not positive and finite: INVALID_ARGUMENT. */
GHTIER_API ghtier_status_t ghtier_kv_plan_resume(ghtier_runtime_t* runtime, const ghtier_kv_resume_request_t* request,
                                                 ghtier_kv_resume_plan_t* plan);

typedef struct ghtier_kv_cache ghtier_kv_cache_t;

typedef struct ghtier_kv_cache_options_t {
  size_t struct_size; /**< sizeof(ghtier_kv_cache_options_t) */
  ghtier_kv_block_shape_t shape;
  size_t device_blocks; /**< > 0 */
  size_t host_blocks;   /**< 0: no host tier (suspend is refused) */
  /* Added with the file tier: a struct_size that ends before here (an older header's) means no file tier. */
  const char* file_directory; /**< the file tier's directory (created if missing); NULL or "": none. Needs
                                   host_blocks > 0 */
  size_t file_blocks;         /**< the most blocks the store keeps in files; 0: no limit */
} ghtier_kv_cache_options_t;

typedef struct ghtier_kv_cache_statistics_t {
  size_t struct_size; /**< sizeof(ghtier_kv_cache_statistics_t) */
  uint64_t block_bytes;
  uint64_t device_blocks;
  uint64_t host_blocks;
  uint64_t device_blocks_used;
  uint64_t host_blocks_used;
  uint64_t sessions;
  uint64_t suspended_bytes;
  uint64_t restored_bytes;
  /* Added with the file tier (written only when struct_size reaches them). */
  uint64_t file_blocks_used;   /**< blocks of this store that have a block file */
  uint64_t file_written_bytes; /**< block bytes written to files so far */
  uint64_t file_read_bytes;    /**< block bytes read from files so far */
} ghtier_kv_cache_statistics_t;

/** Creates a store on the runtime's GPU (with a transfer engine of its own), reserving both pools at exact
 *  size. Errors: an invalid shape or device_blocks 0 (INVALID_ARGUMENT), a file_directory that cannot be
 *  created or is read-only (IO, checked before the runtime is), an offline runtime (UNSUPPORTED), pools that
 *  cannot be reserved (OUT_OF_BUDGET / OUT_OF_MEMORY). *cache is NULL on failure. */
GHTIER_API ghtier_status_t ghtier_kv_cache_create(ghtier_runtime_t* runtime, const ghtier_kv_cache_options_t* options,
                                                  ghtier_kv_cache_t** cache);
/** Waits for the copies still touching the pools, then frees them. NULL is a no-op. */
GHTIER_API ghtier_status_t ghtier_kv_cache_destroy(ghtier_kv_cache_t* cache);
/** The device pool's address (for attention kernels). */
GHTIER_API ghtier_status_t ghtier_kv_cache_device_pool(ghtier_kv_cache_t* cache, void** pool);
/** A new, empty, active session; higher priority is evicted later. */
GHTIER_API ghtier_status_t ghtier_kv_cache_session_create(ghtier_kv_cache_t* cache, int32_t priority,
                                                          uint64_t* session);
/** Room for n_tokens more tokens; up to `capacity` new block indices go to new_blocks (may be NULL with
 *  capacity 0), their count to *num_new (may be NULL). `stream` waits for a copy on write. A full device
 *  pool is OUT_OF_BUDGET (nothing changed). */
GHTIER_API ghtier_status_t ghtier_kv_cache_append(ghtier_kv_cache_t* cache, uint64_t session, size_t n_tokens,
                                                  void* stream, uint32_t* new_blocks, size_t capacity, size_t* num_new);
/** The session's block indices: *num_blocks receives the count; up to `capacity` go to table. A suspended
 *  session is INVALID_ARGUMENT. */
GHTIER_API ghtier_status_t ghtier_kv_cache_block_table(ghtier_kv_cache_t* cache, uint64_t session, uint32_t* table,
                                                       size_t capacity, size_t* num_blocks);
/** Copies the session's blocks to the host tier after the work on `stream` (one batch); its device blocks
 *  are freed once that is done. A full host tier is OUT_OF_BUDGET (nothing changed, no session lost). */
GHTIER_API ghtier_status_t ghtier_kv_cache_suspend(ghtier_kv_cache_t* cache, uint64_t session, void* stream);
/** Copies the session's blocks back in one batch; `stream` waits for them. */
GHTIER_API ghtier_status_t ghtier_kv_cache_resume(ghtier_kv_cache_t* cache, uint64_t session, void* stream);
/** A new session sharing every block of `session` (copy on write). */
GHTIER_API ghtier_status_t ghtier_kv_cache_fork(ghtier_kv_cache_t* cache, uint64_t session, uint64_t* forked);
/** Forgets the session; blocks no other session holds are freed. */
GHTIER_API ghtier_status_t ghtier_kv_cache_drop(ghtier_kv_cache_t* cache, uint64_t session);
/** Reload vs recompute for resuming the session now, over the runtime's link model. */
GHTIER_API ghtier_status_t ghtier_kv_cache_plan_resume(ghtier_kv_cache_t* cache, uint64_t session,
                                                       double prefill_tokens_per_second, ghtier_kv_resume_plan_t* plan);
/** Fills *statistics (its struct_size must be set). */
GHTIER_API ghtier_status_t ghtier_kv_cache_get_statistics(ghtier_kv_cache_t* cache,
                                                          ghtier_kv_cache_statistics_t* statistics);

/* Prefix reuse, the file tier and expiry (docs/kv_cache.md). Token ids are int32; `salt` names the model
 * (and anything else that changes its KV: revision, dtype, rope scaling): the same ids under another salt
 * are another prefix. NULL salt is refused; "" is a salt. */

/** The chained hashes of every full block of tokens[0..n_tokens) (the names of their block files), as the
 *  store computes them; needs no store or GPU. *num_hashes receives n_tokens / tokens_per_block; up to
 *  `capacity` go to hashes (may be NULL with capacity 0). Errors: tokens_per_block 0, NULL tokens with
 *  n_tokens > 0, NULL salt, NULL num_hashes (INVALID_ARGUMENT). */
GHTIER_API ghtier_status_t ghtier_kv_prefix_hashes(const int32_t* tokens, size_t n_tokens, size_t tokens_per_block,
                                                   const char* salt, uint64_t* hashes, size_t capacity,
                                                   size_t* num_hashes);
/** Registers the session's leading full blocks as the KV of tokens[0..n_tokens) (its context, at most the
 *  tokens it holds) under `salt`, so that lookups and new sessions find them (once in files, also in other
 *  processes). Call it once their KV is written. Errors: more tokens than the session holds, a block
 *  registered before with other tokens (INVALID_ARGUMENT), an unknown session (NOT_FOUND). */
GHTIER_API ghtier_status_t ghtier_kv_cache_register_prefix(ghtier_kv_cache_t* cache, uint64_t session,
                                                           const int32_t* tokens, size_t n_tokens, const char* salt);
/** How many leading tokens of tokens[0..n_tokens) are stored (*cached_tokens, whole blocks) and each cached
 *  block's tier (a ghtier_kv_tier_t; up to `capacity` go to tiers, which may be NULL with capacity 0;
 *  *num_blocks, may be NULL, receives the count). A block file is checked only when it is read. */
GHTIER_API ghtier_status_t ghtier_kv_cache_lookup_prefix(ghtier_kv_cache_t* cache, const int32_t* tokens,
                                                         size_t n_tokens, const char* salt, size_t* cached_tokens,
                                                         int32_t* tiers, size_t capacity, size_t* num_blocks);
/** A new active session holding the stored prefix of tokens[0..n_tokens): shared with the sessions that
 *  hold it, read from block files, copied to the device in one batch that `stream` waits for.
 *  *cached_tokens (may be NULL) receives how many tokens it holds; append and compute the rest. A block
 *  file that cannot be read (corrupt) ends the prefix there, with a logged warning. Errors: the device or
 *  host pool cannot take the blocks (OUT_OF_BUDGET: no session created). */
GHTIER_API ghtier_status_t ghtier_kv_cache_create_from_prefix(ghtier_kv_cache_t* cache, const int32_t* tokens,
                                                              size_t n_tokens, const char* salt, int32_t priority,
                                                              void* stream, uint64_t* session, size_t* cached_tokens);
/** `seconds` from now on, the session's blocks that no active session uses are evicted first whatever their
 *  priority, and dropped rather than moved to a slower tier; INFINITY: never (the default). Errors: a
 *  negative or NaN seconds (INVALID_ARGUMENT), an unknown session (NOT_FOUND). */
GHTIER_API ghtier_status_t ghtier_kv_cache_set_expiry(ghtier_kv_cache_t* cache, uint64_t session, double seconds);
/** The tokens the session holds (a resume that found a block file corrupt leaves fewer). */
GHTIER_API ghtier_status_t ghtier_kv_cache_session_tokens(ghtier_kv_cache_t* cache, uint64_t session, size_t* tokens);

#ifdef __cplusplus
}
#endif

#endif /* GHTIER_GHTIER_WORKLOADS_H */
