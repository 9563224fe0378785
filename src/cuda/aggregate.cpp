// aggregate() and aggregate_async(): check the arguments, plan the scan, enqueue init + scan + finalise
// on the caller's stream with stream-ordered scratch, and (synchronous forms) copy the result back.
#include "ghtier/kernels/aggregate.hpp"

#include <cstddef>
#include <vector>

#include <fmt/format.h>

#include "core/memory/gpu_access.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/nvtx_range.hpp"
#include "cuda/aggregate_kernels.hpp"
#include "cuda/column_checks.hpp"
#include "cuda/current_device_limits.hpp"
#include "ghtier/error.hpp"
#include "ghtier/memory/device_buffer.hpp"

namespace ghtier {

namespace {

// What the synchronous forms copy back: the status words and the result that follows them in scratch.
struct StatusAndResult {
  unsigned long long status[detail::aggregate_status_words];
  AggregateResult result;
};
static_assert(offsetof(StatusAndResult, result) == detail::aggregate_status_words * sizeof(unsigned long long));

struct PlannedScan {
  detail::ScanColumn values;
  detail::ScanFilter filter;
  detail::ScanShape shape;
  std::uint64_t bytes = 0;  // what the scan reads
};

PlannedScan plan_aggregate(const ColumnView& values, const AggregateOptions& options) {
  detail::check_column(values, "aggregate: values");
  PlannedScan plan;
  plan.filter = detail::make_scan_filter(options.filter, values.rows, values.type, "aggregate");
  detail::require_column_access(values, "aggregate: values");
  std::vector<detail::ColumnAddress> columns{{reinterpret_cast<std::uintptr_t>(values.data), value_bytes(values.type)}};
  plan.bytes = values.bytes();
  if (plan.filter.enabled && !plan.filter.on_values) {
    detail::require_column_access(*options.filter->column, "aggregate: filter column");
    columns.push_back(
        {reinterpret_cast<std::uintptr_t>(options.filter->column->data), value_bytes(options.filter->column->type)});
    plan.bytes += options.filter->column->bytes();
  }
  plan.values = detail::ScanColumn{values.data, values.type};
  plan.shape = detail::plan_scan(values.rows, columns, detail::current_device_limits().sm_count);
  return plan;
}

void enqueue_aggregate(const PlannedScan& plan, const detail::AggregateSlots& slots, AggregateResult* result,
                       cudaStream_t stream) {
  detail::launch_aggregate_init(slots, stream);
  if (plan.shape.rows > 0) detail::launch_aggregate(plan.values, plan.filter, plan.shape, slots, stream);
  detail::launch_aggregate_finalize(slots, plan.values.type, result, nullptr, stream);
}

// Scratch = slots of one group, then the result; returns both after the stream drained.
template <typename Enqueue>
StatusAndResult run_and_copy_back(cudaStream_t stream, MemoryResource& resource, Enqueue&& enqueue) {
  const DeviceBuffer scratch(detail::aggregate_slots_bytes(1) + sizeof(AggregateResult), stream, resource);
  const detail::AggregateSlots slots = detail::carve_aggregate_slots(scratch.data(), 1);
  auto* device_result = reinterpret_cast<AggregateResult*>(slots.status + detail::aggregate_status_words);
  enqueue(slots, device_result);
  StatusAndResult host{};
  GHTIER_CUDA_CHECK(cudaMemcpyAsync(&host, slots.status, sizeof(host), cudaMemcpyDeviceToHost, stream));
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
  return host;
}

}  // namespace

AggregateResult aggregate(const ColumnView& values, const AggregateOptions& options, cudaStream_t stream,
                          MemoryResource& resource) {
  const PlannedScan plan = plan_aggregate(values, options);
  detail::NvtxRange range("ghtier::aggregate", plan.bytes);
  return run_and_copy_back(stream, resource,
                           [&](const detail::AggregateSlots& slots, AggregateResult* result) {
                             enqueue_aggregate(plan, slots, result, stream);
                           })
      .result;
}

void aggregate_async(const ColumnView& values, const AggregateOptions& options, AggregateResult* result,
                     cudaStream_t stream, MemoryResource& resource) {
  if (result == nullptr) throw_error(ErrorCode::invalid_argument, "aggregate_async: result is null");
  const PlannedScan plan = plan_aggregate(values, options);
  detail::require_gpu_access(result, sizeof(AggregateResult), "aggregate_async: result");
  detail::NvtxRange range("ghtier::aggregate_async", plan.bytes);
  const DeviceBuffer scratch(detail::aggregate_slots_bytes(1), stream, resource);
  enqueue_aggregate(plan, detail::carve_aggregate_slots(scratch.data(), 1), result, stream);
}

AggregateResult aggregate(const BitpackedColumnView& values, const AggregateOptions& options, cudaStream_t stream,
                          MemoryResource& resource) {
  detail::check_packed_column(values, "aggregate: packed values");
  const detail::ScanFilter filter =
      detail::make_scan_filter(options.filter, values.rows, values.value_type, "aggregate (packed)");
  detail::require_packed_access(values, "aggregate: packed values");
  std::uint64_t bytes = values.packed_bytes();
  if (filter.enabled && !filter.on_values) {
    detail::require_column_access(*options.filter->column, "aggregate: filter column");
    bytes += options.filter->column->bytes();
  }
  const detail::PackedColumn packed = detail::to_packed_column(values);
  const detail::ScanGrid grid = detail::plan_packed_grid(packed.block_count, detail::current_device_limits().sm_count);
  detail::NvtxRange range("ghtier::aggregate_packed", bytes);
  const StatusAndResult host =
      run_and_copy_back(stream, resource, [&](const detail::AggregateSlots& slots, AggregateResult* result) {
        detail::launch_aggregate_init(slots, stream);
        if (packed.block_count > 0) detail::launch_packed_aggregate(packed, filter, grid, slots, stream);
        detail::launch_aggregate_finalize(slots, values.value_type, result, nullptr, stream);
      });
  const unsigned long long bad_block = host.status[detail::status_first_bad_block];
  if (bad_block != ~0ull) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("aggregate: bit-packed column: block {} has a header that breaks the format (width "
                            "above 32, or words past word_count {}); the result was discarded",
                            bad_block, values.word_count));
  }
  return host.result;
}

}  // namespace ghtier
