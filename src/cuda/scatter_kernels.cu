// Scatter kernels: the row_copy.cuh shapes with a mapping that writes table rows by index.
#include "cuda/scatter_kernels.hpp"
#include "cuda/row_copy.cuh"

namespace ghtier::detail {

namespace {
template <class Index>
struct ScatterMapping {
  const unsigned char* rows;
  unsigned char* table;
  const Index* indices;
  std::size_t row_bytes;
  std::size_t num_rows;
  IndexFault* fault;
  static constexpr bool counts_hits = false;

  __device__ RowPair row(std::size_t i) const {
    const Index idx = indices[i];
    RowPair pair;
    pair.src = rows + i * row_bytes;
    if (index_in_range(idx, num_rows)) {
      pair.dst = table + static_cast<std::size_t>(idx) * row_bytes;
    } else {
      pair.bad = true;  // dst stays null: nothing is written
    }
    return pair;
  }
  __device__ void report(std::size_t i) const {
    record_bad_index(fault, i, static_cast<long long>(indices[i]), num_rows);
  }
};

template <class Index>
void scatter_impl(const RowCopyPlan& plan, const void* rows, std::size_t row_bytes, std::size_t count,
                  const Index* indices, void* table, std::size_t num_rows, IndexFault* fault, cudaStream_t stream) {
  const ScatterMapping<Index> map{
      static_cast<const unsigned char*>(rows), static_cast<unsigned char*>(table), indices, row_bytes, num_rows, fault};
  launch_row_copy(plan, map, count, row_bytes, stream, "launch of scatter kernel");
}
}  // namespace

void launch_scatter(const RowCopyPlan& plan, const void* rows, std::size_t row_bytes, std::size_t count,
                    const std::int64_t* indices, void* table, std::size_t num_rows, IndexFault* fault,
                    cudaStream_t stream) {
  scatter_impl(plan, rows, row_bytes, count, indices, table, num_rows, fault, stream);
}

void launch_scatter(const RowCopyPlan& plan, const void* rows, std::size_t row_bytes, std::size_t count,
                    const std::int32_t* indices, void* table, std::size_t num_rows, IndexFault* fault,
                    cudaStream_t stream) {
  scatter_impl(plan, rows, row_bytes, count, indices, table, num_rows, fault, stream);
}

}  // namespace ghtier::detail
