/* The C API from C11: an offline runtime on the GH200 profile resolves the same requests differently from
 * one on x86 + H100 over PCIe; budgets steer the spill policy. Needs no GPU. (The example of docs/c_api.md.) */
#include <stdio.h>
#include <string.h>

#include "ghtier/ghtier.h"

#define CHECK(call)                                                                                       \
  do {                                                                                                    \
    ghtier_status_t status_ = (call);                                                                     \
    if (status_ != GHTIER_SUCCESS) {                                                                      \
      fprintf(stderr, "%s failed: %s: %s\n", #call, ghtier_status_name(status_), ghtier_error_message()); \
      return 1;                                                                                           \
    }                                                                                                     \
  } while (0)

static int expect_mode(ghtier_runtime_t* rt, size_t bytes, int32_t expected, const char* what) {
  ghtier_placement_request_t request;
  ghtier_placement_t placement;
  memset(&request, 0, sizeof request);
  request.struct_size = sizeof request;
  request.bytes = bytes;
  request.accessor = GHTIER_ACCESSOR_GPU;
  request.frequency = GHTIER_FREQUENCY_HOT;
  request.tag = "activations";
  memset(&placement, 0, sizeof placement);
  placement.struct_size = sizeof placement;
  CHECK(ghtier_runtime_resolve(rt, &request, &placement));
  printf("%-28s %zu bytes -> mode %d (%s)\n", what, bytes, (int)placement.mode, placement.reason);
  if (placement.mode != expected) {
    fprintf(stderr, "%s: expected mode %d\n", what, (int)expected);
    return 1;
  }
  return 0;
}

int main(void) {
  ghtier_runtime_options_t options;
  ghtier_runtime_t* gh200 = NULL;
  ghtier_runtime_t* pcie = NULL;
  ghtier_platform_info_t info;
  size_t budget = 0;
  size_t used = 1;
  int failures = 0;
  ghtier_policy_t policy = GHTIER_POLICY_SPILL;
  ghtier_statistics_t stats;
  ghtier_runtime_t* other = NULL;
  void* ptr = NULL;

  memset(&options, 0, sizeof options);
  options.struct_size = sizeof options;
  options.policy = GHTIER_POLICY_SPILL;
  options.device_budget_bytes = (size_t)1 << 30; /* 1 GiB of HBM for ghtier */
  options.assumed_profile = "gh200";
  CHECK(ghtier_runtime_create(&options, &gh200));
  options.assumed_profile = "x86-h100-pcie";
  CHECK(ghtier_runtime_create(&options, &pcie));

  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  CHECK(ghtier_runtime_get_platform_info(gh200, &info));
  printf("%s: platform class %d, offline %d, C2C %.0f GB/s\n", info.name, (int)info.platform_class, (int)info.offline,
         info.h2d_gbps);
  if (info.platform_class != GHTIER_PLATFORM_COHERENT_C2C || info.offline != 1) failures++;

  failures += expect_mode(gh200, (size_t)256 << 20, GHTIER_MODE_DEVICE, "gh200, within budget");
  failures += expect_mode(gh200, (size_t)2 << 30, GHTIER_MODE_SYSTEM, "gh200, past budget");
  failures += expect_mode(pcie, (size_t)2 << 30, GHTIER_MODE_PINNED_HOST, "x86-h100-pcie, past budget");

  CHECK(ghtier_runtime_set_budget(gh200, GHTIER_MODE_DEVICE, GHTIER_UNLIMITED));
  failures += expect_mode(gh200, (size_t)2 << 30, GHTIER_MODE_DEVICE, "gh200, no budget");
  CHECK(ghtier_runtime_get_budget(gh200, GHTIER_MODE_DEVICE, &budget, &used));
  if (budget != GHTIER_UNLIMITED || used != 0) failures++;

  CHECK(ghtier_runtime_set_policy(pcie, GHTIER_POLICY_UNIFIED, 0));
  failures += expect_mode(pcie, 4096, GHTIER_MODE_MANAGED, "x86-h100-pcie, unified");

  CHECK(ghtier_runtime_get_policy(pcie, &policy));
  if (policy != GHTIER_POLICY_UNIFIED) failures++;
  memset(&stats, 0, sizeof stats);
  stats.struct_size = sizeof stats;
  CHECK(ghtier_runtime_get_statistics(gh200, GHTIER_MODE_DEVICE, &stats));
  if (stats.current_bytes != 0 || stats.budget_bytes != GHTIER_UNLIMITED) failures++;

  /* Offline runtimes touch no memory: every allocation form is UNSUPPORTED and leaves *ptr NULL. */
  ptr = &policy;
  if (ghtier_memory_alloc_mode(gh200, GHTIER_MODE_DEVICE, 4096, NULL, &ptr) != GHTIER_ERROR_UNSUPPORTED || ptr != NULL)
    failures++;
  ptr = &policy;
  if (ghtier_memory_alloc_mode_sync(gh200, GHTIER_MODE_DEVICE, 4096, &ptr) != GHTIER_ERROR_UNSUPPORTED || ptr != NULL)
    failures++;
  /* A zero-byte prefetch is a valid no-op everywhere. */
  CHECK(ghtier_memory_prefetch(gh200, NULL, 0, GHTIER_LOCATION_DEVICE, NULL));
  /* One handle scheme: a runtime handle is not an engine, and says so. */
  if (ghtier_engine_destroy((ghtier_engine_t*)gh200) != GHTIER_ERROR_INVALID_ARGUMENT) failures++;
  if (strstr(ghtier_error_message(), "runtime") == NULL) failures++;
  /* An offline runtime models a GPU by number: a negative one is refused. */
  options.device = -1;
  if (ghtier_runtime_create(&options, &other) != GHTIER_ERROR_INVALID_ARGUMENT || other != NULL) failures++;

  CHECK(ghtier_runtime_destroy(pcie));
  CHECK(ghtier_runtime_destroy(gh200));
  if (ghtier_runtime_destroy(gh200) != GHTIER_ERROR_INVALID_ARGUMENT) failures++; /* destroyed twice */
  return failures == 0 ? 0 : 1;
}
