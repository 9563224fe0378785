// Gather kernels: the row_copy.cuh shapes with a mapping that reads table rows by index.
#include "cuda/gather_kernels.hpp"
#include "cuda/row_copy.cuh"

namespace ghtier::detail {

namespace {
template <class Index>
struct GatherMapping {
  const unsigned char* table;
  unsigned char* out;
  const Index* indices;
  std::size_t row_bytes;
  std::size_t num_rows;
  IndexFault* fault;
  static constexpr bool counts_hits = false;

  __device__ RowPair row(std::size_t i) const {
    const Index idx = indices[i];
    RowPair pair;
    pair.dst = out + i * row_bytes;
    if (index_in_range(idx, num_rows)) {
      pair.src = table + static_cast<std::size_t>(idx) * row_bytes;
    } else {
      pair.bad = true;
    }
    return pair;
  }
  __device__ void report(std::size_t i) const {
    record_bad_index(fault, i, static_cast<long long>(indices[i]), num_rows);
  }
};

template <class Index>
void gather_impl(const RowCopyPlan& plan, const void* table, std::size_t row_bytes, std::size_t num_rows,
                 const Index* indices, std::size_t count, void* out, IndexFault* fault, cudaStream_t stream) {
  const GatherMapping<Index> map{
      static_cast<const unsigned char*>(table), static_cast<unsigned char*>(out), indices, row_bytes, num_rows, fault};
  launch_row_copy(plan, map, count, row_bytes, stream, "launch of gather kernel");
}
}  // namespace

void launch_gather(const RowCopyPlan& plan, const void* table, std::size_t row_bytes, std::size_t num_rows,
                   const std::int64_t* indices, std::size_t count, void* out, IndexFault* fault, cudaStream_t stream) {
  gather_impl(plan, table, row_bytes, num_rows, indices, count, out, fault, stream);
}

void launch_gather(const RowCopyPlan& plan, const void* table, std::size_t row_bytes, std::size_t num_rows,
                   const std::int32_t* indices, std::size_t count, void* out, IndexFault* fault, cudaStream_t stream) {
  gather_impl(plan, table, row_bytes, num_rows, indices, count, out, fault, stream);
}

}  // namespace ghtier::detail
