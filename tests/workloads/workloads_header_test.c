/* Compiled as C11 with -pedantic: ghtier_workloads.h needs no C++ and no CUDA headers, and every function it
 * declares links. */
#include <stdio.h>

#include "ghtier/ghtier_workloads.h"

int main(void) {
  void (*const surface[])(void) = {
      (void (*)(void))ghtier_activation_plan,
      (void (*)(void))ghtier_activation_offloader_create,
      (void (*)(void))ghtier_activation_offloader_destroy,
      (void (*)(void))ghtier_activation_offloader_begin_layer,
      (void (*)(void))ghtier_activation_offloader_end_layer,
      (void (*)(void))ghtier_activation_offloader_save,
      (void (*)(void))ghtier_activation_offloader_device_released,
      (void (*)(void))ghtier_activation_offloader_prefetch,
      (void (*)(void))ghtier_activation_offloader_prefetch_layer,
      (void (*)(void))ghtier_activation_offloader_restore,
      (void (*)(void))ghtier_activation_offloader_release,
      (void (*)(void))ghtier_activation_offloader_get_statistics,
      (void (*)(void))ghtier_kv_plan_resume,
      (void (*)(void))ghtier_kv_cache_create,
      (void (*)(void))ghtier_kv_cache_destroy,
      (void (*)(void))ghtier_kv_cache_device_pool,
      (void (*)(void))ghtier_kv_cache_session_create,
      (void (*)(void))ghtier_kv_cache_append,
      (void (*)(void))ghtier_kv_cache_block_table,
      (void (*)(void))ghtier_kv_cache_suspend,
      (void (*)(void))ghtier_kv_cache_resume,
      (void (*)(void))ghtier_kv_cache_fork,
      (void (*)(void))ghtier_kv_cache_drop,
      (void (*)(void))ghtier_kv_cache_plan_resume,
      (void (*)(void))ghtier_kv_cache_get_statistics,
  };
  for (size_t i = 0; i < sizeof surface / sizeof surface[0]; ++i) {
    if (surface[i] == NULL) {
      printf("function %zu missing\n", i);
      return 1;
    }
  }
  if (GHTIER_LAYER_KEEP != 0 || GHTIER_LAYER_OFFLOAD != 1 || GHTIER_LAYER_RECOMPUTE != 2) return 1;
  if (GHTIER_KV_RELOAD != 1 || GHTIER_KV_TIER_HOST != 1) return 1;
  if (ghtier_kv_cache_destroy(NULL) != GHTIER_SUCCESS) return 1;
  return ghtier_activation_offloader_destroy(NULL) == GHTIER_SUCCESS ? 0 : 1;
}
