// HashJoinTable: sizing (pure), build and probes: checks, device memory, enqueue on the caller's stream,
// copy the result back. The kernels are in hash_join_kernels.cu.
#include "ghtier/kernels/hash_join.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/memory/gpu_access.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/nvtx_range.hpp"
#include "cuda/column_checks.hpp"
#include "cuda/current_device_limits.hpp"
#include "cuda/hash_join_kernels.hpp"
#include "cuda/hash_table_slots.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {

constexpr std::uint64_t min_capacity = 16;

detail::PayloadKind payload_kind(const std::optional<ColumnType>& type) noexcept {
  if (!type) return detail::PayloadKind::none;
  return is_integer(*type) ? detail::PayloadKind::integer : detail::PayloadKind::floating;
}

struct AccumulatorAndResult {
  detail::JoinAccumulator accumulator;
  JoinResult result;
};

}  // namespace

HashTableLayout hash_table_layout(std::uint64_t build_rows, ColumnType key_type, bool has_payload,
                                  double max_load_factor) {
  if (!is_integer(key_type)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("hash join: keys must be int32 or int64, not {}", to_string(key_type)));
  }
  if (!(max_load_factor > 0.0) || max_load_factor > max_hash_join_load_factor) {
    throw_error(ErrorCode::invalid_argument, fmt::format("hash join: max_load_factor must be in (0, {}], got {}",
                                                         max_hash_join_load_factor, max_load_factor));
  }
  if (build_rows > max_hash_join_build_rows) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("hash join: the build side has {} rows, more than the {} that 32-bit row ids allow",
                            build_rows, max_hash_join_build_rows));
  }
  HashTableLayout layout;
  layout.slot_bytes = key_type == ColumnType::int64 ? sizeof(detail::HashSlot64) : sizeof(detail::HashSlot32);
  layout.payload_bytes = has_payload ? 8 : 0;
  const std::uint64_t bytes_per_slot = layout.slot_bytes + layout.payload_bytes;
  // A tiny load factor asks for more slots than 64-bit sizes hold: refuse before any conversion of the
  // double (casting an out-of-range double to an integer is undefined and gave a nearly full table).
  constexpr std::uint64_t largest_capacity = std::uint64_t{1} << 63;
  const double wanted = std::ceil(static_cast<double>(build_rows) / max_load_factor);
  if (!(wanted <= static_cast<double>(largest_capacity / bytes_per_slot))) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("hash join: {} build rows at a max_load_factor of {} need about {:.3g} slots of {} bytes, "
                            "more than 64-bit sizes hold; use a larger load factor",
                            build_rows, max_load_factor, wanted, bytes_per_slot));
  }
  std::uint64_t capacity = std::bit_ceil(std::max<std::uint64_t>(min_capacity, static_cast<std::uint64_t>(wanted)));
  // Linear probing needs a free slot to end every walk (guaranteed since max_load_factor < 1; kept explicit).
  while (capacity <= build_rows) capacity *= 2;
  layout.capacity = capacity;
  layout.bytes = capacity * bytes_per_slot;  // capacity <= bit_ceil(2^63 / bytes_per_slot): fits
  layout.load_factor = static_cast<double>(build_rows) / static_cast<double>(capacity);
  return layout;
}

HashJoinTable::HashJoinTable(const ColumnView& keys, const std::optional<ColumnView>& payload, cudaStream_t stream,
                             const HashJoinOptions& options, MemoryResource& resource) {
  detail::check_column(keys, "HashJoinTable: keys");
  if (!is_integer(keys.type)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("HashJoinTable: keys must be an int32 or int64 column, not {}", to_string(keys.type)));
  }
  if (payload) {
    detail::check_column(*payload, "HashJoinTable: payload");
    if (payload->rows != keys.rows) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("HashJoinTable: keys have {} rows but the payload has {}", keys.rows, payload->rows));
    }
  }
  const HashTableLayout layout = hash_table_layout(keys.rows, keys.type, payload.has_value(), options.max_load_factor);
  detail::require_column_access(keys, "HashJoinTable: keys");
  std::vector<detail::ColumnAddress> columns{{reinterpret_cast<std::uintptr_t>(keys.data), value_bytes(keys.type)}};
  if (payload) {
    detail::require_column_access(*payload, "HashJoinTable: payload");
    columns.push_back({reinterpret_cast<std::uintptr_t>(payload->data), value_bytes(payload->type)});
  }
  detail::NvtxRange range("ghtier::hash_join_build", keys.bytes() + (payload ? payload->bytes() : 0));
  const detail::DeviceLimits limits = detail::current_device_limits();

  DeviceBuffer memory = DeviceBuffer::device_wide(layout.bytes, resource);
  void* raw = memory.data();
  const std::uint64_t slot_array_bytes = layout.capacity * layout.slot_bytes;
  // 0xFF everywhere: every slot's row id reads empty_row.
  GHTIER_CUDA_CHECK(cudaMemsetAsync(raw, 0xFF, slot_array_bytes, stream));

  detail::HashTableView table;
  table.slots = raw;
  table.payloads = payload ? static_cast<unsigned char*>(raw) + slot_array_bytes : nullptr;
  table.capacity = layout.capacity;
  table.key_type = keys.type;
  table.payload = payload_kind(payload ? std::optional<ColumnType>(payload->type) : std::nullopt);
  if (keys.rows > 0) {
    const detail::ScanShape shape = detail::plan_scan(keys.rows, columns, limits.sm_count);
    const detail::ScanColumn payload_column =
        payload ? detail::ScanColumn{payload->data, payload->type} : detail::ScanColumn{};
    detail::launch_hash_table_build(detail::ScanColumn{keys.data, keys.type}, payload_column, shape, table, stream);
  }
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));

  layout_ = layout;
  key_type_ = keys.type;
  if (payload) payload_type_ = payload->type;
  build_rows_ = keys.rows;
  device_ = limits.device;
  memory_ = std::move(memory);
}

namespace {

// A probe after its checks: the table and the keys as the kernels see them.
struct PlannedProbe {
  detail::HashTableView table;
  JoinPairsOutput pairs;  // null pairs: none requested
};

PlannedProbe plan_probe(const HashJoinTable& table, ColumnType probe_key_type, const JoinPairsOutput& pairs,
                        const char* operation) {
  if (table.device_slots() == nullptr) {
    throw_error(ErrorCode::invalid_argument, fmt::format("{}: the table was moved from", operation));
  }
  if (probe_key_type != table.key_type()) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: probe keys are {} but the table was built from {} keys", operation,
                            to_string(probe_key_type), to_string(table.key_type())));
  }
  if (pairs.capacity > 0 && pairs.pairs == nullptr) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: pairs is null with a capacity of {}", operation, pairs.capacity));
  }
  if (reinterpret_cast<std::uintptr_t>(pairs.pairs) % alignof(JoinPair) != 0) {
    throw_error(ErrorCode::invalid_argument, fmt::format("{}: pairs at {} are not {}-byte aligned", operation,
                                                         static_cast<void*>(pairs.pairs), alignof(JoinPair)));
  }
  PlannedProbe plan;
  plan.table.slots = const_cast<void*>(table.device_slots());
  plan.table.payloads = const_cast<void*>(table.device_payloads());
  plan.table.capacity = table.layout().capacity;
  plan.table.key_type = table.key_type();
  plan.table.payload = payload_kind(table.payload_type());
  plan.pairs = pairs.capacity > 0 ? pairs : JoinPairsOutput{};
  return plan;
}

// The checks that need CUDA: the current device, and what the GPU can reach.
void require_probe_access(const HashJoinTable& table, const PlannedProbe& plan, const char* operation) {
  int device = 0;
  GHTIER_CUDA_CHECK(cudaGetDevice(&device));
  if (device != table.device()) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{}: the table lives on device {} but the current device is {}", operation, table.device(),
                            device));
  }
  if (plan.pairs.capacity > 0) {
    detail::require_gpu_access(plan.pairs.pairs, plan.pairs.capacity * sizeof(JoinPair),
                               fmt::format("{}: pairs", operation).c_str());
  }
}

struct PlainProbe {
  PlannedProbe probe;
  detail::ScanColumn keys;
  detail::ScanShape shape;
};

PlainProbe plan_plain_probe(const HashJoinTable& table, const ColumnView& probe_keys, const JoinPairsOutput& pairs) {
  constexpr const char* operation = "HashJoinTable::probe";
  detail::check_column(probe_keys, "HashJoinTable::probe: keys");
  PlainProbe plan{plan_probe(table, probe_keys.type, pairs, operation), {}, {}};
  require_probe_access(table, plan.probe, operation);
  detail::require_column_access(probe_keys, "HashJoinTable::probe: keys");
  const std::array<detail::ColumnAddress, 1> columns{
      detail::ColumnAddress{reinterpret_cast<std::uintptr_t>(probe_keys.data), value_bytes(probe_keys.type)}};
  plan.keys = detail::ScanColumn{probe_keys.data, probe_keys.type};
  plan.shape = detail::plan_scan(probe_keys.rows, columns, detail::current_device_limits().sm_count);
  return plan;
}

void enqueue_plain_probe(const PlainProbe& plan, detail::JoinAccumulator* accumulator, JoinResult* result,
                         cudaStream_t stream) {
  detail::launch_join_init(accumulator, stream);
  if (plan.shape.rows > 0) {
    detail::launch_hash_join_probe(plan.keys, plan.shape, plan.probe.table, plan.probe.pairs, accumulator, stream);
  }
  detail::launch_join_finalize(accumulator, plan.probe.table.payload, plan.probe.pairs.pairs != nullptr,
                               plan.probe.pairs.capacity, result, stream);
}

}  // namespace

void HashJoinTable::probe_async(const ColumnView& probe_keys, const JoinPairsOutput& pairs, JoinResult* result,
                                cudaStream_t stream) const {
  if (result == nullptr) throw_error(ErrorCode::invalid_argument, "HashJoinTable::probe_async: result is null");
  const PlainProbe plan = plan_plain_probe(*this, probe_keys, pairs);
  detail::require_gpu_access(result, sizeof(JoinResult), "HashJoinTable::probe_async: result");
  detail::NvtxRange range("ghtier::hash_join_probe_async", probe_keys.bytes());
  const DeviceBuffer scratch(sizeof(detail::JoinAccumulator), stream, *resource());
  enqueue_plain_probe(plan, static_cast<detail::JoinAccumulator*>(scratch.data()), result, stream);
}

JoinResult HashJoinTable::probe(const ColumnView& probe_keys, const JoinPairsOutput& pairs, cudaStream_t stream) const {
  const PlainProbe plan = plan_plain_probe(*this, probe_keys, pairs);
  detail::NvtxRange range("ghtier::hash_join_probe", probe_keys.bytes());
  const DeviceBuffer scratch(sizeof(AccumulatorAndResult), stream, *resource());
  auto* device = static_cast<AccumulatorAndResult*>(scratch.data());
  enqueue_plain_probe(plan, &device->accumulator, &device->result, stream);
  AccumulatorAndResult host{};
  GHTIER_CUDA_CHECK(cudaMemcpyAsync(&host, device, sizeof(host), cudaMemcpyDeviceToHost, stream));
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
  return host.result;
}

JoinResult HashJoinTable::probe(const BitpackedColumnView& probe_keys, const JoinPairsOutput& pairs,
                                cudaStream_t stream) const {
  constexpr const char* operation = "HashJoinTable::probe (packed)";
  detail::check_packed_column(probe_keys, "HashJoinTable::probe: packed keys");
  const PlannedProbe plan = plan_probe(*this, probe_keys.value_type, pairs, operation);
  require_probe_access(*this, plan, operation);
  detail::require_packed_access(probe_keys, "HashJoinTable::probe: packed keys");
  detail::NvtxRange range("ghtier::hash_join_probe_packed", probe_keys.packed_bytes());
  const detail::PackedColumn packed = detail::to_packed_column(probe_keys);
  const detail::ScanGrid grid =
      detail::plan_packed_probe_grid(packed.block_count, detail::current_device_limits().sm_count);
  const DeviceBuffer scratch(sizeof(AccumulatorAndResult), stream, *resource());
  auto* device = static_cast<AccumulatorAndResult*>(scratch.data());
  detail::launch_join_init(&device->accumulator, stream);
  if (packed.block_count > 0) {
    detail::launch_packed_hash_join_probe(packed, grid, plan.table, plan.pairs, &device->accumulator, stream);
  }
  detail::launch_join_finalize(&device->accumulator, plan.table.payload, plan.pairs.pairs != nullptr,
                               plan.pairs.capacity, &device->result, stream);
  AccumulatorAndResult host{};
  GHTIER_CUDA_CHECK(cudaMemcpyAsync(&host, device, sizeof(host), cudaMemcpyDeviceToHost, stream));
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
  if (host.accumulator.first_bad_block != ~0ull) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("HashJoinTable::probe: bit-packed keys: block {} has a header that breaks the format "
                            "(width above 32, or words past word_count {}); the result was discarded",
                            host.accumulator.first_bad_block, probe_keys.word_count));
  }
  return host.result;
}

}  // namespace ghtier
