/* ghtier C API, the platform report (docs/python.md): what each memory mode is on the runtime's platform and
 * how bytes move between modes, as `ghtier info` prints them. Added for `python -m ghtier info`, so that it
 * reports the platform layer's own decisions instead of repeating them. Same conventions as ghtier.h. */
#ifndef GHTIER_GHTIER_PLATFORM_REPORT_H
#define GHTIER_GHTIER_PLATFORM_REPORT_H

#include "export.h"

#include <stddef.h>
#include <stdint.h>

#include "ghtier.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ghtier_relocation_t {
  GHTIER_RELOCATION_NONE = 0,    /**< the pointer cannot move: copy into a buffer of another mode */
  GHTIER_RELOCATION_PREFETCH = 1 /**< cudaMemPrefetchAsync (and advice) migrate its pages */
} ghtier_relocation_t;

typedef enum ghtier_move_mechanism_t {
  GHTIER_MOVE_COPY_ENGINE = 0, /**< cudaMemcpyAsync on a copy stream */
  GHTIER_MOVE_STAGED_COPY = 1, /**< CPU threads through a ring of pinned buffers, then DMA */
  GHTIER_MOVE_HOST_COPY = 2    /**< both sides CPU memory: CPU threads copy */
} ghtier_move_mechanism_t;

/** What one mode is on the runtime's platform. */
typedef struct ghtier_mode_access_t {
  size_t struct_size; /**< sizeof(ghtier_mode_access_t) */
  int32_t gpu_access; /**< a kernel may dereference it */
  int32_t cpu_access; /**< the CPU may dereference it */
  int32_t migrates;   /**< pages move to the toucher */
  int32_t relocation; /**< a ghtier_relocation_t */
  char lives_in[128]; /**< where its bytes are, in words; NUL-terminated, truncated if longer */
  char gpu_path[128]; /**< how a kernel reaches it, in words */
} ghtier_mode_access_t;

/** Fills *access (its struct_size must be set) for `mode` on the runtime's platform (offline runtimes too). */
GHTIER_API ghtier_status_t ghtier_runtime_get_mode_access(ghtier_runtime_t* runtime, ghtier_memory_mode_t mode,
                                                          ghtier_mode_access_t* access);
/** How ghtier moves bytes from a buffer of mode `from` into one of mode `to` on this platform. */
GHTIER_API ghtier_status_t ghtier_runtime_get_move_mechanism(ghtier_runtime_t* runtime, ghtier_memory_mode_t from,
                                                             ghtier_memory_mode_t to,
                                                             ghtier_move_mechanism_t* mechanism);

#ifdef __cplusplus
}
#endif

#endif /* GHTIER_GHTIER_PLATFORM_REPORT_H */
