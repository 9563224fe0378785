/* ghtier C API, PyTorch allocator entry points (docs/python.md): the functions that
 * torch.cuda.memory.CUDAPluggableAllocator loads from libghtier.so, and the calls that bind them to a
 * runtime. Python's ghtier.torch uses them; any other runtime with a pluggable-allocator hook can too.
 *
 * PyTorch names an allocator by a (.so, alloc symbol, free symbol) triple and passes no user data, so the
 * library exports GHTIER_TORCH_SLOTS pairs of functions, ghtier_torch_alloc_N / ghtier_torch_free_N, one pair
 * per *slot*. A slot is bound to a runtime and either one memory mode (every allocation in that mode) or the
 * runtime's tier policy.
 *
 * Allocation entry points have PyTorch's signatures and so cannot return a status: on failure they return
 * NULL (slots bound without GHTIER_TORCH_THROW_ON_FAILURE; PyTorch's caching allocator then frees its cache,
 * retries, and raises torch.OutOfMemoryError) or throw a C++ std::runtime_error carrying the message (with
 * the flag: for PyTorch's default-allocator hook, which does not check for NULL; PyTorch turns the
 * exception into a Python RuntimeError). ghtier_torch_free_N never throws: a pointer that slot N did not
 * hand out is counted in foreign_frees and left alone. Each failure's message
 * is kept per slot (ghtier_torch_last_error).
 *
 * Graph capture: an allocation on a stream that is being captured never calls a stream-ordered allocator
 * (that would put an allocation node into the graph, and its free outside the graph breaks it); it is
 * carved out of the slot's capture reserve, device memory allocated when the slot was bound. A free that
 * arrives while a capture is underway (of memory allocated before it) is held and done at the slot's next
 * allocation that sees no capture (or at unbind): a stream-ordered free then would become a node of the
 * graph, or break a capture in global mode.
 *
 * Freed-block cache (bind flag GHTIER_TORCH_CACHE_FREED_BLOCKS): PyTorch's pluggable hook caches nothing, so
 * without it every tensor is a full runtime allocation and a stream-ordered free. With it, a slot whose
 * placement cannot matter (mode GHTIER_MODE_DEVICE, or the policy while the runtime's policy is
 * GHTIER_POLICY_DEVICE_ONLY) keeps the device blocks PyTorch frees and hands each out again to a later
 * allocation of the same size class on the same stream (stream order makes that as safe as cudaFreeAsync
 * followed by cudaMallocAsync on that stream). Sizes are rounded up to a class: a multiple of 512 bytes up
 * to 1 MiB, above that a multiple of an eighth of the size's power of two, at most 2 MiB (at most 12.5 %
 * more). Cached blocks stay allocated in the runtime and count against its device budget; an allocation
 * that the budget or the device refuses first frees the slot's whole cache and tries once more. Never
 * cached: blocks of any other mode or policy, allocations during a capture (the reserve serves them),
 * frees held during a capture. A block that would take the cache past its bound (cache_limit_bytes) is
 * freed at once. ghtier_torch_empty_cache and ghtier_torch_unbind free everything cached, stream-ordered
 * on each block's stream: a stream that cached blocks were freed on must outlive them (empty the cache
 * before destroying the stream). */
#ifndef GHTIER_GHTIER_TORCH_H
#define GHTIER_GHTIER_TORCH_H

#include "export.h"

#include <stddef.h>
#include <stdint.h>

#include "ghtier.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How many slots (alloc functions) the library exports. */
#define GHTIER_TORCH_SLOTS 8
/** ghtier_torch_bind_options_t.mode: follow the runtime's tier policy instead of one mode. */
#define GHTIER_TORCH_MODE_POLICY (-1)
/** Bind flag: throw std::runtime_error instead of returning NULL when an allocation fails. */
#define GHTIER_TORCH_THROW_ON_FAILURE 0x1u
/** Bind flag: keep freed device blocks for reuse where placement cannot matter (see the freed-block cache
 *  above); ignored for the pinned host, managed and system modes. */
#define GHTIER_TORCH_CACHE_FREED_BLOCKS 0x2u

/** How a slot allocates. Zero means "default" in every field except mode (0 is GHTIER_MODE_DEVICE). */
typedef struct ghtier_torch_bind_options_t {
  size_t struct_size;           /**< sizeof(ghtier_torch_bind_options_t) */
  int32_t mode;                 /**< a ghtier_memory_mode_t, or GHTIER_TORCH_MODE_POLICY */
  uint32_t flags;               /**< GHTIER_TORCH_* bits; others are invalid */
  size_t capture_reserve_bytes; /**< device memory set aside for allocations during graph capture (0: none) */
  const char* tag;              /**< tag of every allocation (copied); NULL: "torch" */
  /* Appended later: an older header's struct ends above it, and the field takes its default. */
  size_t cache_limit_bytes; /**< bound of the freed-block cache; 0: the larger of 1 GiB and a quarter of the
                                 device budget (of the device's memory when there is no budget), at bind */
} ghtier_torch_bind_options_t;

/** A slot's counters (the runtime's per-tier statistics say where the bytes are). */
typedef struct ghtier_torch_slot_statistics_t {
  size_t struct_size;   /**< sizeof(ghtier_torch_slot_statistics_t) */
  int32_t bound;        /**< 1 while bound */
  int32_t mode;         /**< as bound */
  size_t current_bytes; /**< live bytes handed to PyTorch (capture reserve blocks included, cached ones not) */
  size_t current_allocations;
  size_t peak_bytes;
  uint64_t total_allocations;
  uint64_t failed_allocations;  /**< allocations refused (budget, memory, capture reserve, device) */
  uint64_t foreign_frees;       /**< frees of pointers this slot did not hand out (left alone) */
  uint64_t capture_allocations; /**< allocations served from the capture reserve */
  size_t capture_reserve_bytes; /**< the reserve's size */
  size_t capture_reserve_used_bytes;
  size_t device_bytes; /**< live bytes by the mode they landed in (a policy slot spreads them) */
  size_t pinned_host_bytes;
  size_t managed_bytes;
  size_t system_bytes;
  size_t deferred_free_bytes; /**< freed by PyTorch during a graph capture, released once no capture is seen */
  uint64_t deferred_frees;    /**< frees held that way, ever */
  /* Appended later (an older header's struct ends above them): the freed-block cache, zeros without one. */
  size_t cached_bytes;      /**< device bytes of freed blocks kept for reuse (still allocated in the runtime) */
  size_t cached_blocks;     /**< how many */
  uint64_t cache_hits;      /**< allocations served from the cache */
  uint64_t cache_misses;    /**< cacheable allocations that found no block and went to the runtime */
  size_t cache_limit_bytes; /**< the cache's bound; 0 when the slot has no cache */
} ghtier_torch_slot_statistics_t;

/** Binds `slot` (0 .. GHTIER_TORCH_SLOTS-1) to `runtime`; the slot shares the runtime's ownership, so the
 *  runtime's handle may be destroyed while the slot still holds allocations. options may be NULL (policy
 *  mode, return NULL on failure, no capture reserve). Errors: INVALID_ARGUMENT (slot out of range or already
 *  bound, bad mode or flags, a runtime handle that is not live), UNSUPPORTED (an offline runtime with a
 *  capture reserve, or a mode the runtime cannot allocate in), and the reserve's allocation errors. */
GHTIER_API ghtier_status_t ghtier_torch_bind(int32_t slot, ghtier_runtime_t* runtime,
                                             const ghtier_torch_bind_options_t* options);
/** Unbinds a slot and frees its capture reserve and its freed-block cache. INVALID_ARGUMENT when the slot is not bound,
 * or while it still holds allocations (PyTorch would later free them through it: release the tensors and the pool
 *  first, e.g. torch.cuda.empty_cache()); the message gives their count. */
GHTIER_API ghtier_status_t ghtier_torch_unbind(int32_t slot);
/** Frees every block the slot's freed-block cache holds (stream-ordered, each on its stream; a block whose
 *  stream is being captured is held as a capture-time free). A slot that is not bound, or has no cache, has
 *  nothing to free. INVALID_ARGUMENT for a slot out of range. */
GHTIER_API ghtier_status_t ghtier_torch_empty_cache(int32_t slot);
/** Fills *statistics (its struct_size must be set). A slot that is not bound reports zeros, bound = 0. */
GHTIER_API ghtier_status_t ghtier_torch_slot_statistics(int32_t slot, ghtier_torch_slot_statistics_t* statistics);
/** The slot's message for its last failed allocation or foreign free; "" when none. Valid until the slot's
 *  next failure; copy it. NULL for a slot out of range. */
GHTIER_API const char* ghtier_torch_last_error(int32_t slot);
/** Whether the calling thread's current CUDA context sees `stream` capturing: 1 capturing, 0 not. A status
 *  for an invalid stream. For the Python layer's checks before a capture. */
GHTIER_API ghtier_status_t ghtier_torch_stream_is_capturing(void* stream, int32_t* capturing);

/** PyTorch's alloc signature: (size, device, cudaStream_t) -> pointer, for slot N. Size 0 returns NULL. */
GHTIER_API void* ghtier_torch_alloc_0(ptrdiff_t size, int device, void* stream);
GHTIER_API void* ghtier_torch_alloc_1(ptrdiff_t size, int device, void* stream);
GHTIER_API void* ghtier_torch_alloc_2(ptrdiff_t size, int device, void* stream);
GHTIER_API void* ghtier_torch_alloc_3(ptrdiff_t size, int device, void* stream);
GHTIER_API void* ghtier_torch_alloc_4(ptrdiff_t size, int device, void* stream);
GHTIER_API void* ghtier_torch_alloc_5(ptrdiff_t size, int device, void* stream);
GHTIER_API void* ghtier_torch_alloc_6(ptrdiff_t size, int device, void* stream);
GHTIER_API void* ghtier_torch_alloc_7(ptrdiff_t size, int device, void* stream);
/** PyTorch's free signature: (pointer, size, device, cudaStream_t), for slot N. The memory is freed
 *  stream-ordered on the stream it was allocated on. NULL is a no-op; a pointer slot N did not hand out is
 *  counted (foreign_frees) and left alone. Never throws. */
GHTIER_API void ghtier_torch_free_0(void* ptr, ptrdiff_t size, int device, void* stream);
GHTIER_API void ghtier_torch_free_1(void* ptr, ptrdiff_t size, int device, void* stream);
GHTIER_API void ghtier_torch_free_2(void* ptr, ptrdiff_t size, int device, void* stream);
GHTIER_API void ghtier_torch_free_3(void* ptr, ptrdiff_t size, int device, void* stream);
GHTIER_API void ghtier_torch_free_4(void* ptr, ptrdiff_t size, int device, void* stream);
GHTIER_API void ghtier_torch_free_5(void* ptr, ptrdiff_t size, int device, void* stream);
GHTIER_API void ghtier_torch_free_6(void* ptr, ptrdiff_t size, int device, void* stream);
GHTIER_API void ghtier_torch_free_7(void* ptr, ptrdiff_t size, int device, void* stream);

#ifdef __cplusplus
}
#endif

#endif /* GHTIER_GHTIER_TORCH_H */
