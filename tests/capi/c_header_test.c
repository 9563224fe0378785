/* Compiled as C11 with -pedantic: the public C header needs no C++ and no CUDA headers, and every function
 * it declares links (the table below takes each one's address). */
#include <stdio.h>
#include <string.h>

#include "ghtier/ghtier.h"

#if !defined(GHTIER_VERSION_MAJOR) || !defined(GHTIER_VERSION_MINOR) || !defined(GHTIER_VERSION_PATCH)
#error "ghtier.h must define GHTIER_VERSION_MAJOR/MINOR/PATCH"
#endif

static int sink_calls = 0;
static void count_lines(ghtier_log_level_t level, const char* message, void* user_data) {
  (void)level;
  (void)message;
  *(int*)user_data += 1;
}

int main(void) {
  /* Every declared function, by address: a missing definition fails the link. */
  void (*const surface[])(void) = {
      (void (*)(void))ghtier_version_get,
      (void (*)(void))ghtier_status_name,
      (void (*)(void))ghtier_error_message,
      (void (*)(void))ghtier_error_cuda,
      (void (*)(void))ghtier_log_set_sink,
      (void (*)(void))ghtier_log_set_level,
      (void (*)(void))ghtier_runtime_create,
      (void (*)(void))ghtier_runtime_destroy,
      (void (*)(void))ghtier_runtime_get_platform_info,
      (void (*)(void))ghtier_runtime_set_policy,
      (void (*)(void))ghtier_runtime_get_policy,
      (void (*)(void))ghtier_runtime_resolve,
      (void (*)(void))ghtier_runtime_set_budget,
      (void (*)(void))ghtier_runtime_get_budget,
      (void (*)(void))ghtier_runtime_get_statistics,
      (void (*)(void))ghtier_memory_alloc,
      (void (*)(void))ghtier_memory_alloc_sync,
      (void (*)(void))ghtier_memory_alloc_mode,
      (void (*)(void))ghtier_memory_alloc_mode_sync,
      (void (*)(void))ghtier_memory_free,
      (void (*)(void))ghtier_memory_free_sync,
      (void (*)(void))ghtier_memory_relocate,
      (void (*)(void))ghtier_memory_relocate_sync,
      (void (*)(void))ghtier_memory_prefetch,
      (void (*)(void))ghtier_memory_advise,
      (void (*)(void))ghtier_memory_get_residency,
      (void (*)(void))ghtier_memory_get_info,
      (void (*)(void))ghtier_engine_create,
      (void (*)(void))ghtier_engine_destroy,
      (void (*)(void))ghtier_engine_copy,
      (void (*)(void))ghtier_engine_prefetch,
      (void (*)(void))ghtier_engine_copy_batch,
      (void (*)(void))ghtier_engine_synchronize,
      (void (*)(void))ghtier_engine_get_statistics,
      (void (*)(void))ghtier_token_poll,
      (void (*)(void))ghtier_token_wait,
      (void (*)(void))ghtier_token_wait_on_stream,
      (void (*)(void))ghtier_token_destroy,
      (void (*)(void))ghtier_host_registration_create,
      (void (*)(void))ghtier_host_registration_destroy,
      (void (*)(void))ghtier_index_check_create,
      (void (*)(void))ghtier_index_check_destroy,
      (void (*)(void))ghtier_index_check_verify,
      (void (*)(void))ghtier_sm_copy,
      (void (*)(void))ghtier_sm_copy_2d,
      (void (*)(void))ghtier_gather,
      (void (*)(void))ghtier_sorted_gather,
      (void (*)(void))ghtier_gather_auto,
      (void (*)(void))ghtier_cpu_gather_pipeline_create,
      (void (*)(void))ghtier_cpu_gather_pipeline_destroy,
      (void (*)(void))ghtier_scatter,
      (void (*)(void))ghtier_row_cache_create,
      (void (*)(void))ghtier_row_cache_create_from_frequencies,
      (void (*)(void))ghtier_row_cache_destroy,
      (void (*)(void))ghtier_row_cache_gather,
      (void (*)(void))ghtier_row_cache_get_statistics,
      (void (*)(void))ghtier_row_cache_get_info,
      (void (*)(void))ghtier_aggregate,
      (void (*)(void))ghtier_group_by,
      (void (*)(void))ghtier_hash_table_get_layout,
      (void (*)(void))ghtier_hash_table_create,
      (void (*)(void))ghtier_hash_table_destroy,
      (void (*)(void))ghtier_hash_table_get_info,
      (void (*)(void))ghtier_hash_table_probe,
      (void (*)(void))ghtier_bitpacked_get_size,
      (void (*)(void))ghtier_bitpacked_pack,
      (void (*)(void))ghtier_bitpacked_validate,
      (void (*)(void))ghtier_bitpacked_unpack,
      (void (*)(void))ghtier_bitpacked_aggregate,
      (void (*)(void))ghtier_hash_table_probe_bitpacked,
  };
  int major = -1, minor = -1, patch = -1;
  size_t i;
  for (i = 0; i < sizeof surface / sizeof surface[0]; ++i) {
    if (surface[i] == NULL) return 1;
  }
  if (ghtier_version_get(&major, &minor, &patch) != GHTIER_SUCCESS || major != GHTIER_VERSION_MAJOR ||
      minor != GHTIER_VERSION_MINOR || patch != GHTIER_VERSION_PATCH) {
    fprintf(stderr, "ghtier_version_get disagrees with the header's macros\n");
    return 1;
  }
  if (strcmp(ghtier_status_name(GHTIER_ERROR_OUT_OF_BUDGET), "GHTIER_ERROR_OUT_OF_BUDGET") != 0) {
    fprintf(stderr, "ghtier_status_name is wrong\n");
    return 1;
  }
  if (strcmp(ghtier_status_name((ghtier_status_t)12345), "GHTIER_UNKNOWN_STATUS") != 0) return 1;
  /* A C callback as the log sink; NULL restores stderr. */
  if (ghtier_log_set_sink(count_lines, &sink_calls) != GHTIER_SUCCESS) return 1;
  if (ghtier_log_set_level(GHTIER_LOG_WARN) != GHTIER_SUCCESS) return 1;
  if (ghtier_log_set_sink(NULL, NULL) != GHTIER_SUCCESS) return 1;
  if (ghtier_error_cuda() != 0 || strcmp(ghtier_error_message(), "") != 0) return 1;
  printf("ghtier %d.%d.%d from C11: %zu functions\n", major, minor, patch, sizeof surface / sizeof surface[0]);
  return 0;
}
