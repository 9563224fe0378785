// group_by() and group_by_async(): check, plan (shared- or global-memory groups), enqueue init + scan +
// finalise on the caller's stream with stream-ordered scratch, and (synchronous form) copy back.
#include "ghtier/kernels/group_by.hpp"

#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "core/memory/gpu_access.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/nvtx_range.hpp"
#include "cuda/aggregate_kernels.hpp"
#include "cuda/column_checks.hpp"
#include "cuda/current_device_limits.hpp"
#include "cuda/group_by_kernels.hpp"
#include "ghtier/error.hpp"
#include "ghtier/memory/device_buffer.hpp"

namespace ghtier {

namespace {

struct PlannedGroupBy {
  detail::ScanColumn keys;
  detail::ScanColumn values;
  detail::ScanFilter filter;
  detail::ScanShape shape;
  detail::GroupByLaunch launch;
  std::uint32_t groups = 0;
  std::uint64_t bytes = 0;
};

PlannedGroupBy plan_group_by(const ColumnView& keys, const ColumnView& values, std::uint32_t groups,
                             const GroupByOptions& options) {
  detail::check_column(keys, "group_by: keys");
  detail::check_column(values, "group_by: values");
  if (!is_integer(keys.type)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("group_by: keys must be an int32 or int64 column, not {}", to_string(keys.type)));
  }
  if (keys.rows != values.rows) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("group_by: keys have {} rows but values have {}", keys.rows, values.rows));
  }
  if (groups == 0 || groups > max_group_by_groups) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("group_by: groups must be in [1, {}], got {}", max_group_by_groups, groups));
  }
  PlannedGroupBy plan;
  plan.groups = groups;
  plan.filter = detail::make_scan_filter(options.filter, values.rows, values.type, "group_by");
  detail::require_column_access(keys, "group_by: keys");
  detail::require_column_access(values, "group_by: values");
  std::vector<detail::ColumnAddress> columns{{reinterpret_cast<std::uintptr_t>(keys.data), value_bytes(keys.type)},
                                             {reinterpret_cast<std::uintptr_t>(values.data), value_bytes(values.type)}};
  plan.bytes = keys.bytes() + values.bytes();
  if (plan.filter.enabled && !plan.filter.on_values) {
    detail::require_column_access(*options.filter->column, "group_by: filter column");
    columns.push_back(
        {reinterpret_cast<std::uintptr_t>(options.filter->column->data), value_bytes(options.filter->column->type)});
    plan.bytes += options.filter->column->bytes();
  }
  plan.keys = detail::ScanColumn{keys.data, keys.type};
  plan.values = detail::ScanColumn{values.data, values.type};
  const detail::DeviceLimits limits = detail::current_device_limits();
  plan.shape = detail::plan_scan(values.rows, columns, limits.sm_count);
  plan.launch = detail::plan_group_by_launch(groups, plan.shape.vectors.body_steps, limits.sm_count,
                                             limits.shared_per_block_optin, limits.shared_per_sm);
  return plan;
}

void enqueue_group_by(const PlannedGroupBy& plan, const detail::AggregateSlots& slots, AggregateResult* results,
                      std::uint64_t* rows_out_of_range, cudaStream_t stream) {
  detail::launch_aggregate_init(slots, stream);
  if (plan.shape.rows > 0) {
    detail::launch_group_by(plan.keys, plan.values, plan.filter, plan.shape, plan.launch, slots, stream);
  }
  detail::launch_aggregate_finalize(slots, plan.values.type, results, rows_out_of_range, stream);
}

}  // namespace

GroupByResult group_by(const ColumnView& keys, const ColumnView& values, std::uint32_t groups,
                       const GroupByOptions& options, cudaStream_t stream, MemoryResource& resource) {
  const PlannedGroupBy plan = plan_group_by(keys, values, groups, options);
  detail::NvtxRange range("ghtier::group_by", plan.bytes);
  // Scratch: the slots (status last), then the results, so status + results come back in one copy.
  const std::size_t slots_bytes = detail::aggregate_slots_bytes(groups);
  const std::size_t results_bytes = static_cast<std::size_t>(groups) * sizeof(AggregateResult);
  const DeviceBuffer scratch(slots_bytes + results_bytes, stream, resource);
  const detail::AggregateSlots slots = detail::carve_aggregate_slots(scratch.data(), groups);
  auto* device_results = reinterpret_cast<AggregateResult*>(slots.status + detail::aggregate_status_words);
  enqueue_group_by(plan, slots, device_results, nullptr, stream);

  const std::size_t status_bytes = detail::aggregate_status_words * sizeof(unsigned long long);
  std::vector<unsigned char> host(status_bytes + results_bytes);
  GHTIER_CUDA_CHECK(cudaMemcpyAsync(host.data(), slots.status, host.size(), cudaMemcpyDeviceToHost, stream));
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
  GroupByResult result;
  unsigned long long status[detail::aggregate_status_words];
  std::memcpy(status, host.data(), status_bytes);
  result.rows_out_of_range = status[detail::status_rows_out_of_range];
  result.groups.resize(groups);
  std::memcpy(result.groups.data(), host.data() + status_bytes, results_bytes);
  return result;
}

void group_by_async(const ColumnView& keys, const ColumnView& values, std::uint32_t groups,
                    const GroupByOptions& options, AggregateResult* results, std::uint64_t* rows_out_of_range,
                    cudaStream_t stream, MemoryResource& resource) {
  if (results == nullptr) throw_error(ErrorCode::invalid_argument, "group_by_async: results is null");
  const PlannedGroupBy plan = plan_group_by(keys, values, groups, options);
  detail::require_gpu_access(results, static_cast<std::size_t>(groups) * sizeof(AggregateResult),
                             "group_by_async: results");
  if (rows_out_of_range != nullptr) {
    detail::require_gpu_access(rows_out_of_range, sizeof(std::uint64_t), "group_by_async: rows_out_of_range");
  }
  detail::NvtxRange range("ghtier::group_by_async", plan.bytes);
  const DeviceBuffer scratch(detail::aggregate_slots_bytes(groups), stream, resource);
  enqueue_group_by(plan, detail::carve_aggregate_slots(scratch.data(), groups), results, rows_out_of_range, stream);
}

}  // namespace ghtier
