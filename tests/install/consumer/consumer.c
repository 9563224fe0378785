/* A C program built with pkg-config's flags for ghtier. */
#include <stdio.h>

#include <ghtier/ghtier.h>

int main(void) {
  int major = 0, minor = 0, patch = 0;
  if (ghtier_version_get(&major, &minor, &patch) != GHTIER_SUCCESS) return 1;
  printf("ghtier %d.%d.%d via pkg-config\n", major, minor, patch);
  return 0;
}
