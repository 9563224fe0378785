// merge_index_fault: one thread adds a host-found fault record into a device one (same atomics as the kernels).
#include "cuda/index_fault_merge_kernels.hpp"
#include "core/support/cuda_check.hpp"

namespace ghtier::detail {

namespace {
__global__ void merge_index_fault(IndexFault* record, IndexFault found) {
  atomicAdd(&record->count, found.count);
  if (found.position_plus_one != 0 && atomicCAS(&record->position_plus_one, 0ull, found.position_plus_one) == 0ull) {
    record->value = found.value;
    record->rows = found.rows;
  }
}
}  // namespace

void launch_merge_index_fault(IndexFault* record, const IndexFault& found, cudaStream_t stream) {
  merge_index_fault<<<1, 1, 0, stream>>>(record, found);
  GHTIER_CUDA_CHECK_LAUNCH("merge_index_fault");
}

}  // namespace ghtier::detail
