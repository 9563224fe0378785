/* ghtier C API: memory tiering for NVIDIA Grace Hopper, usable from C11, ctypes and cffi.
 *
 * Conventions: every function returns a ghtier_status_t (GHTIER_SUCCESS = 0); outputs come through
 * pointer arguments; ghtier_last_error() gives the calling thread's message for the last failure.
 * Handles are opaque; create/destroy come in pairs. No C++ exception crosses this boundary.
 * Stream arguments are cudaStream_t passed as void*, so this header needs no CUDA headers.
 * Option structs begin with struct_size (set it to sizeof the struct you were compiled with), so that
 * they can grow without breaking old callers. See docs/c_api.md. */
#ifndef GHTIER_GHTIER_H
#define GHTIER_GHTIER_H

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

/** Library version; any output pointer may be NULL. */
ghtier_status_t ghtier_version(int* major, int* minor, int* patch);
/** Name of a status code ("GHTIER_ERROR_OUT_OF_BUDGET"); "GHTIER_UNKNOWN_STATUS" for other values. */
const char* ghtier_status_string(ghtier_status_t status);
/** The calling thread's message for its last failed call; "" when none. Valid until the thread's next call. */
const char* ghtier_last_error(void);
/** CUDA's cudaError_t value of the calling thread's last failed call, or 0 when CUDA was not the cause. */
int ghtier_last_cuda_error(void);

/* The direct-access kernels (copy, gather, scan/aggregate, join, compressed columns). */
#include "ghtier_kernels.h"

#ifdef __cplusplus
}
#endif

#endif /* GHTIER_GHTIER_H */
