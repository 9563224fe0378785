// The C API of the scan/aggregate, group-by, hash-join and bit-packed column kernels
// (include/ghtier/ghtier_kernels.h, second section): thin wrappers over the C++ API; capi::guarded turns
// every exception into a status and a message.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "capi/c_api_errors.hpp"
#include "capi/c_api_handles.hpp"
#include "capi/c_api_holder.hpp"
#include "capi/c_api_runtime.hpp"
#include "capi/c_api_struct_version.hpp"
#include "capi/c_enum_value.hpp"
#include "ghtier/error.hpp"
#include "ghtier/ghtier_kernels.h"
#include "ghtier/kernels/aggregate.hpp"
#include "ghtier/kernels/bitpacked_column.hpp"
#include "ghtier/kernels/group_by.hpp"
#include "ghtier/kernels/hash_join.hpp"

static_assert(sizeof(ghtier_join_pair_t) == sizeof(ghtier::JoinPair) &&
              alignof(ghtier_join_pair_t) == alignof(ghtier::JoinPair));
static_assert(sizeof(ghtier_bitpack_block_header_t) == sizeof(ghtier::BitpackBlockHeader) &&
              offsetof(ghtier_bitpack_block_header_t, width) == offsetof(ghtier::BitpackBlockHeader, width) &&
              offsetof(ghtier_bitpack_block_header_t, offset) == offsetof(ghtier::BitpackBlockHeader, offset));

namespace {

using ghtier::Error;
using ghtier::ErrorCode;
using ghtier::capi::HandleKind;
using ghtier::capi::require_non_null;

// A hash table handle keeps its runtime alive: its device memory counts against that runtime's budget.
using HashTableHolder = ghtier::capi::Holder<ghtier_hash_table_t, ghtier::HashJoinTable, HandleKind::hash_table>;

std::shared_ptr<HashTableHolder> get_table(ghtier_hash_table_t* table) { return HashTableHolder::get(table, "table"); }

// The smallest struct_size each versioned struct accepts (its first published version).
constexpr std::size_t filter_minimum = sizeof(ghtier_range_filter_t);
constexpr std::size_t options_minimum = sizeof(ghtier_hash_join_options_t);
constexpr std::size_t column_minimum = sizeof(ghtier_column_t);
constexpr std::size_t bitpacked_minimum = sizeof(ghtier_bitpacked_column_t);

cudaStream_t to_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

ghtier::ColumnType to_type(std::int32_t type, const char* name) {
  switch (type) {
    case GHTIER_COLUMN_INT32: return ghtier::ColumnType::int32;
    case GHTIER_COLUMN_INT64: return ghtier::ColumnType::int64;
    case GHTIER_COLUMN_FLOAT32: return ghtier::ColumnType::float32;
    case GHTIER_COLUMN_FLOAT64: return ghtier::ColumnType::float64;
    default: break;
  }
  throw_error(
      ErrorCode::invalid_argument,
      fmt::format("{} is {}, not a ghtier_column_type_t (GHTIER_COLUMN_INT32 .. GHTIER_COLUMN_FLOAT64)", name, type));
}

ghtier::ColumnView to_view(const ghtier_column_t* column, const char* name) {
  const ghtier_column_t in = ghtier::capi::read_versioned(column, ghtier_column_t{}, column_minimum, name);
  if (in.reserved != 0)
    throw_error(ErrorCode::invalid_argument, fmt::format("{}->reserved is {}: must be 0", name, in.reserved));
  return ghtier::ColumnView{in.data, in.rows, to_type(in.type, fmt::format("{}->type", name).c_str())};
}

std::optional<ghtier::RangeFilter> to_filter(const ghtier_range_filter_t* filter) {
  if (filter == nullptr) return std::nullopt;
  ghtier_range_filter_t defaults{};
  const ghtier_range_filter_t in = ghtier::capi::read_versioned(filter, defaults, filter_minimum, "filter");
  if (in.float_bounds != 0 && in.float_bounds != 1) {
    throw_error(ErrorCode::invalid_argument, fmt::format("filter->float_bounds is {}, not 0 or 1", in.float_bounds));
  }
  ghtier::RangeFilter out;
  if (in.column != nullptr) out.column = to_view(in.column, "filter->column");
  out.float_bounds = in.float_bounds == 1;
  out.min_int = in.min_int;
  out.max_int = in.max_int;
  out.min_float = in.min_float;
  out.max_float = in.max_float;
  return out;
}

ghtier_aggregate_result_t to_c(const ghtier::AggregateResult& r) {
  ghtier_aggregate_result_t out{};
  out.struct_size = sizeof(out);
  out.count = r.count;
  out.sum_int = r.sum_int;
  out.min_int = r.min_int;
  out.max_int = r.max_int;
  out.sum_float = r.sum_float;
  out.min_float = r.min_float;
  out.max_float = r.max_float;
  return out;
}

ghtier_join_result_t to_c(const ghtier::JoinResult& r) {
  ghtier_join_result_t out{};
  out.struct_size = sizeof(out);
  out.matches = r.matches;
  out.payload_sum_int = r.payload_sum_int;
  out.payload_sum_float = r.payload_sum_float;
  out.pairs_written = r.pairs_written;
  out.pairs_overflowed = r.pairs_overflowed;
  return out;
}

ghtier::BitpackedColumnView to_view(const ghtier_bitpacked_column_t* column, const char* name) {
  const ghtier_bitpacked_column_t in =
      ghtier::capi::read_versioned(column, ghtier_bitpacked_column_t{}, bitpacked_minimum, name);
  if (in.reserved != 0)
    throw_error(ErrorCode::invalid_argument, fmt::format("{}->reserved is {}: must be 0", name, in.reserved));
  ghtier::BitpackedColumnView view;
  view.value_type = to_type(in.value_type, fmt::format("{}->value_type", name).c_str());
  view.rows = in.rows;
  view.blocks = reinterpret_cast<const ghtier::BitpackBlockHeader*>(in.blocks);
  view.words = in.words;
  view.word_count = in.word_count;
  return view;
}

ghtier::JoinPairsOutput to_pairs(ghtier_join_pair_t* pairs, std::uint64_t capacity) {
  if (pairs == nullptr && capacity > 0) {
    throw_error(ErrorCode::invalid_argument, fmt::format("pairs is NULL with pairs_capacity {}", capacity));
  }
  return ghtier::JoinPairsOutput{reinterpret_cast<ghtier::JoinPair*>(pairs), pairs == nullptr ? 0 : capacity};
}

// Calls fn(std::span<const T>) with the values typed as `type` (integer types only).
template <typename Fn>
void with_integer_values(const void* values, int type, std::uint64_t rows, Fn&& fn) {
  if (values == nullptr && rows > 0) throw_error(ErrorCode::invalid_argument, "values is NULL");
  switch (to_type(type, "type")) {
    case ghtier::ColumnType::int32:
      fn(std::span<const std::int32_t>(static_cast<const std::int32_t*>(values), rows));
      return;
    case ghtier::ColumnType::int64:
      fn(std::span<const std::int64_t>(static_cast<const std::int64_t*>(values), rows));
      return;
    default: break;
  }
  throw_error(ErrorCode::invalid_argument, "type: bit-packed columns hold GHTIER_COLUMN_INT32 or GHTIER_COLUMN_INT64");
}

}  // namespace

extern "C" {

ghtier_status_t ghtier_aggregate(ghtier_runtime_t* runtime, const ghtier_column_t* values,
                                 const ghtier_range_filter_t* filter, void* stream, ghtier_aggregate_result_t* result) {
  return ghtier::capi::guarded("ghtier_aggregate", [&] {
    const auto owner = ghtier::capi::shared_runtime_of(runtime);
    ghtier::capi::check_output(result, "result");
    ghtier::AggregateOptions options;
    options.filter = to_filter(filter);
    ghtier::capi::write_versioned(result, to_c(ghtier::aggregate(to_view(values, "values"), options, to_stream(stream),
                                                                 ghtier::capi::kernel_resource(*owner))));
  });
}

ghtier_status_t ghtier_group_by(ghtier_runtime_t* runtime, const ghtier_column_t* keys, const ghtier_column_t* values,
                                uint32_t groups, const ghtier_range_filter_t* filter, void* stream,
                                ghtier_aggregate_result_t* results, uint64_t* rows_out_of_range) {
  return ghtier::capi::guarded("ghtier_group_by", [&] {
    const auto owner = ghtier::capi::shared_runtime_of(runtime);
    ghtier::capi::check_output(results, "results");
    const std::size_t stride = results->struct_size;
    ghtier::GroupByOptions options;
    options.filter = to_filter(filter);
    const ghtier::GroupByResult got =
        ghtier::group_by(to_view(keys, "keys"), to_view(values, "values"), groups, options, to_stream(stream),
                         ghtier::capi::kernel_resource(*owner));
    auto* bytes = reinterpret_cast<unsigned char*>(results);
    for (std::uint32_t g = 0; g < groups; ++g) {
      auto* entry = reinterpret_cast<ghtier_aggregate_result_t*>(bytes + g * stride);
      const ghtier_aggregate_result_t value = to_c(got.groups[g]);
      std::memcpy(static_cast<void*>(entry), &value, stride);
      entry->struct_size = stride;
    }
    if (rows_out_of_range != nullptr) *rows_out_of_range = got.rows_out_of_range;
  });
}

ghtier_status_t ghtier_hash_table_get_layout(uint64_t build_rows, ghtier_column_type_t key_type, int has_payload,
                                             double max_load_factor, uint64_t* capacity, uint64_t* device_bytes) {
  return ghtier::capi::guarded("ghtier_hash_table_get_layout", [&] {
    const ghtier::HashTableLayout layout = ghtier::hash_table_layout(
        build_rows, to_type(ghtier::capi::c_enum_value(key_type), "key_type"), has_payload != 0,
        max_load_factor == 0.0 ? ghtier::default_hash_join_load_factor : max_load_factor);
    if (capacity != nullptr) *capacity = layout.capacity;
    if (device_bytes != nullptr) *device_bytes = layout.bytes;
  });
}

ghtier_status_t ghtier_hash_table_create(ghtier_runtime_t* runtime, const ghtier_column_t* keys,
                                         const ghtier_column_t* payload, const ghtier_hash_join_options_t* options,
                                         void* stream, ghtier_hash_table_t** table) {
  return ghtier::capi::guarded("ghtier_hash_table_create", [&] {
    require_non_null(table, "table");
    *table = nullptr;
    auto owner = ghtier::capi::shared_runtime_of(runtime);
    ghtier::HashJoinOptions cpp_options;
    if (options != nullptr) {
      ghtier_hash_join_options_t defaults{};
      const ghtier_hash_join_options_t in = ghtier::capi::read_versioned(options, defaults, options_minimum, "options");
      if (in.max_load_factor != 0.0) cpp_options.max_load_factor = in.max_load_factor;
    }
    std::optional<ghtier::ColumnView> payload_view;
    if (payload != nullptr) payload_view = to_view(payload, "payload");
    *table = HashTableHolder::create(std::move(owner), [&](ghtier::Runtime& kept) {
      ghtier::MemoryResource& resource = ghtier::capi::kernel_resource(kept);  // the table counts in its budget
      return ghtier::HashJoinTable(to_view(keys, "keys"), payload_view, to_stream(stream), cpp_options, resource);
    });
  });
}

ghtier_status_t ghtier_hash_table_destroy(ghtier_hash_table_t* table) {
  return HashTableHolder::destroy("ghtier_hash_table_destroy", table, "table");
}

ghtier_status_t ghtier_hash_table_get_info(ghtier_hash_table_t* table, uint64_t* capacity, uint64_t* device_bytes) {
  return ghtier::capi::guarded("ghtier_hash_table_get_info", [&] {
    const auto t = get_table(table);
    if (capacity != nullptr) *capacity = t->object().layout().capacity;
    if (device_bytes != nullptr) *device_bytes = t->object().layout().bytes;
  });
}

ghtier_status_t ghtier_hash_table_probe(ghtier_hash_table_t* table, const ghtier_column_t* probe_keys,
                                        ghtier_join_pair_t* pairs, uint64_t pairs_capacity, void* stream,
                                        ghtier_join_result_t* result) {
  return ghtier::capi::guarded("ghtier_hash_table_probe", [&] {
    const auto t = get_table(table);
    ghtier::capi::check_output(result, "result");
    const ghtier::JoinResult got =
        t->object().probe(to_view(probe_keys, "probe_keys"), to_pairs(pairs, pairs_capacity), to_stream(stream));
    ghtier::capi::write_versioned(result, to_c(got));
  });
}

ghtier_status_t ghtier_bitpacked_get_size(const void* values, ghtier_column_type_t type, uint64_t rows,
                                          uint64_t* block_count, uint64_t* word_count) {
  return ghtier::capi::guarded("ghtier_bitpacked_get_size", [&] {
    with_integer_values(values, ghtier::capi::c_enum_value(type), rows, [&](auto span) {
      const ghtier::BitpackPlan plan = ghtier::plan_bitpack(span);
      if (block_count != nullptr) *block_count = plan.blocks.size();
      if (word_count != nullptr) *word_count = plan.word_count;
    });
  });
}

ghtier_status_t ghtier_bitpacked_pack(const void* values, ghtier_column_type_t type, uint64_t rows,
                                      ghtier_bitpack_block_header_t* blocks, uint64_t block_capacity, uint32_t* words,
                                      uint64_t word_capacity, ghtier_bitpacked_column_t* column) {
  return ghtier::capi::guarded("ghtier_bitpacked_pack", [&] {
    ghtier::capi::check_output(column, "column");
    if (blocks == nullptr && block_capacity > 0) throw_error(ErrorCode::invalid_argument, "blocks is NULL");
    if (words == nullptr && word_capacity > 0) throw_error(ErrorCode::invalid_argument, "words is NULL");
    with_integer_values(values, ghtier::capi::c_enum_value(type), rows, [&](auto span) {
      const ghtier::BitpackPlan plan = ghtier::plan_bitpack(span);
      const ghtier::BitpackedColumnView view = ghtier::bitpack_into(
          span, plan, std::span(reinterpret_cast<ghtier::BitpackBlockHeader*>(blocks), block_capacity),
          std::span(words, word_capacity));
      ghtier_bitpacked_column_t out{};
      out.struct_size = sizeof(out);
      out.value_type = type;
      out.rows = view.rows;
      out.blocks = blocks;
      out.words = words;
      out.word_count = view.word_count;
      ghtier::capi::write_versioned(column, out);
    });
  });
}

ghtier_status_t ghtier_bitpacked_validate(const ghtier_bitpacked_column_t* column) {
  return ghtier::capi::guarded("ghtier_bitpacked_validate", [&] { ghtier::validate(to_view(column, "column")); });
}

ghtier_status_t ghtier_bitpacked_unpack(const ghtier_bitpacked_column_t* column, void* out, uint64_t rows) {
  return ghtier::capi::guarded("ghtier_bitpacked_unpack", [&] {
    const ghtier::BitpackedColumnView view = to_view(column, "column");
    if (out == nullptr && rows > 0) throw_error(ErrorCode::invalid_argument, "out is NULL");
    if (view.value_type == ghtier::ColumnType::int64) {
      ghtier::unpack(view, std::span(static_cast<std::int64_t*>(out), rows));
    } else {
      ghtier::unpack(view, std::span(static_cast<std::int32_t*>(out), rows));
    }
  });
}

ghtier_status_t ghtier_bitpacked_aggregate(ghtier_runtime_t* runtime, const ghtier_bitpacked_column_t* values,
                                           const ghtier_range_filter_t* filter, void* stream,
                                           ghtier_aggregate_result_t* result) {
  return ghtier::capi::guarded("ghtier_bitpacked_aggregate", [&] {
    const auto owner = ghtier::capi::shared_runtime_of(runtime);
    ghtier::capi::check_output(result, "result");
    ghtier::AggregateOptions options;
    options.filter = to_filter(filter);
    ghtier::capi::write_versioned(result, to_c(ghtier::aggregate(to_view(values, "values"), options, to_stream(stream),
                                                                 ghtier::capi::kernel_resource(*owner))));
  });
}

ghtier_status_t ghtier_hash_table_probe_bitpacked(ghtier_hash_table_t* table,
                                                  const ghtier_bitpacked_column_t* probe_keys,
                                                  ghtier_join_pair_t* pairs, uint64_t pairs_capacity, void* stream,
                                                  ghtier_join_result_t* result) {
  return ghtier::capi::guarded("ghtier_hash_table_probe_bitpacked", [&] {
    const auto t = get_table(table);
    ghtier::capi::check_output(result, "result");
    const ghtier::JoinResult got =
        t->object().probe(to_view(probe_keys, "probe_keys"), to_pairs(pairs, pairs_capacity), to_stream(stream));
    ghtier::capi::write_versioned(result, to_c(got));
  });
}

}  // extern "C"
