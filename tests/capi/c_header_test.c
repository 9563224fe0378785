/* Compiled as C11 with -pedantic: the public C header needs no C++ and no CUDA headers. */
#include <stdio.h>
#include <string.h>

#include "ghtier/ghtier.h"

int main(void) {
  int major = -1, minor = -1, patch = -1;
  if (ghtier_version_get(&major, &minor, &patch) != GHTIER_SUCCESS || major < 0 || minor < 0 || patch < 0) {
    fprintf(stderr, "ghtier_version failed\n");
    return 1;
  }
  if (strcmp(ghtier_status_name(GHTIER_ERROR_OUT_OF_BUDGET), "GHTIER_ERROR_OUT_OF_BUDGET") != 0) {
    fprintf(stderr, "ghtier_status_string is wrong\n");
    return 1;
  }
  if (strcmp(ghtier_status_name((ghtier_status_t)12345), "GHTIER_UNKNOWN_STATUS") != 0) return 1;
  printf("ghtier %d.%d.%d from C11\n", major, minor, patch);
  return 0;
}
