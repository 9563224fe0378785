/* ghtier_torch.h compiles as strict C11 and its entry points link with PyTorch's signatures. */
#include <stddef.h>
#include <stdio.h>

#include <ghtier/ghtier_torch.h>

typedef void* (*torch_alloc_fn)(ptrdiff_t size, int device, void* stream);
typedef void (*torch_free_fn)(void* ptr, ptrdiff_t size, int device, void* stream);

int main(void) {
  const torch_alloc_fn allocs[GHTIER_TORCH_SLOTS] = {ghtier_torch_alloc_0, ghtier_torch_alloc_1, ghtier_torch_alloc_2,
                                                     ghtier_torch_alloc_3, ghtier_torch_alloc_4, ghtier_torch_alloc_5,
                                                     ghtier_torch_alloc_6, ghtier_torch_alloc_7};
  const torch_free_fn frees[GHTIER_TORCH_SLOTS] = {ghtier_torch_free_0, ghtier_torch_free_1, ghtier_torch_free_2,
                                                   ghtier_torch_free_3, ghtier_torch_free_4, ghtier_torch_free_5,
                                                   ghtier_torch_free_6, ghtier_torch_free_7};
  ghtier_torch_slot_statistics_t s;
  int slot;
  for (slot = 0; slot < GHTIER_TORCH_SLOTS; ++slot) {
    /* Unbound: allocation refuses (NULL, a reason), size 0 is NULL without a failure. */
    if (allocs[slot](0, 0, NULL) != NULL || allocs[slot](64, 0, NULL) != NULL) return 1;
    frees[slot](NULL, 0, 0, NULL);
    s.struct_size = sizeof(s);
    if (ghtier_torch_slot_statistics(slot, &s) != GHTIER_SUCCESS || s.bound != 0 || s.failed_allocations != 1) {
      fprintf(stderr, "slot %d: %s\n", slot, ghtier_error_message());
      return 1;
    }
  }
  printf("torch header: %d slots\n", GHTIER_TORCH_SLOTS);
  return 0;
}
