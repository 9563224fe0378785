// gather_auto: describes the call as a GatherRequest (residency from CUDA's pointer attributes, the platform
// detected once per device), asks choose_gather_path, and runs the chosen gather.
#include "ghtier/kernels/gather_auto.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "core/memory/gpu_access.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/log.hpp"
#include "cuda/indexed_rows_arguments.hpp"
#include "ghtier/error.hpp"
#include "ghtier/kernels/gather.hpp"
#include "ghtier/kernels/sorted_gather.hpp"

namespace ghtier {

namespace {

std::array<std::atomic<std::uint64_t>, gather_path_count> path_calls{};

const Platform& current_platform() {
  int device = 0;
  GHTIER_CUDA_CHECK(cudaGetDevice(&device));
  static std::mutex mutex;
  static std::map<int, Platform> detected;
  std::lock_guard lock(mutex);
  auto it = detected.find(device);
  if (it == detected.end()) it = detected.emplace(device, detect_platform(device)).first;
  return it->second;  // std::map never moves its elements
}

TableResidency residency_of(const void* table) {
  switch (detail::classify_pointer(table)) {
    case detail::PointerKind::device: return TableResidency::device;
    case detail::PointerKind::pageable: return TableResidency::system;
    case detail::PointerKind::pinned_host:
    case detail::PointerKind::managed: break;  // managed tables are modelled as read over the link
  }
  return TableResidency::pinned_host;
}

bool valid_hint(KeyDistributionHint hint) {
  return hint == KeyDistributionHint::unknown || hint == KeyDistributionHint::uniform ||
         hint == KeyDistributionHint::skewed;
}

template <class Index>
GatherChoice gather_auto_rows(const void* table, std::size_t row_bytes, std::size_t num_rows, const Index* indices,
                              std::size_t count, void* out, cudaStream_t stream, const GatherAutoOptions& options,
                              MemoryResource& resource) {
  const detail::IndexedRows args{"gather_auto", table, row_bytes, num_rows, indices, sizeof(Index), count, out, false};
  detail::validate_indexed_rows(args);
  if (!valid_hint(options.keys)) {
    throw_error(ErrorCode::invalid_argument, fmt::format("gather_auto: options.keys is {}, not a KeyDistributionHint",
                                                         static_cast<int>(options.keys)));
  }
  if (options.cache != nullptr && (options.cache->row_bytes() != row_bytes || options.cache->num_rows() != num_rows)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("gather_auto: options.cache holds rows of {} B of a {}-row table, the call gathers {} B "
                            "rows of a {}-row table: it is not a cache of this table",
                            options.cache->row_bytes(), options.cache->num_rows(), row_bytes, num_rows));
  }
  if (count == 0) {
    GatherChoice empty;
    empty.reason = "count is 0: nothing to gather";
    return empty;
  }
  // Reachability is the chooser's and each path's business: a system-memory table is fine for the pipeline.
  const Platform& platform = options.platform != nullptr ? *options.platform : current_platform();
  const GatherCalibration& calibration =
      options.calibration != nullptr ? *options.calibration : gather_calibration_for(platform);

  GatherRequest request;
  request.row_bytes = row_bytes;
  request.table_bytes = row_bytes * num_rows;
  request.count = count;
  request.index_bytes = sizeof(Index);
  request.keys = options.keys;
  request.keys_sorted = options.keys_sorted;
  // Where the keys are matters to the pipeline only (whether it copies them first): no pointer query
  // (about a microsecond of the call's host time) when it is not offered.
  if (options.pipeline != nullptr) {
    const detail::PointerKind keys_kind = detail::classify_pointer(indices);
    request.keys_on_host = keys_kind == detail::PointerKind::pinned_host || keys_kind == detail::PointerKind::pageable;
  }
  request.residency = residency_of(table);
  request.cache_rows = options.cache != nullptr ? options.cache->cached_rows() : 0;
  request.cache_hit_rate = options.cache_hit_rate;
  request.pipeline_available = options.pipeline != nullptr;
  GatherChoice choice = choose_gather_path(request, platform, calibration);
  log(LogLevel::debug, "gather_auto: {}", choice.reason);

  switch (choice.path) {
    case GatherPath::plain:
      gather(table, row_bytes, num_rows, indices, count, out, stream, options.check, resource);
      break;
    case GatherPath::sorted:
      sorted_gather(table, row_bytes, num_rows, indices, count, out, stream, options.check, resource);
      break;
    case GatherPath::cached: options.cache->gather(indices, count, out, stream, options.check); break;
    case GatherPath::cpu_pipelined:
      options.pipeline->gather(table, row_bytes, num_rows, indices, count, out, stream, options.check);
      break;
  }
  path_calls[static_cast<std::size_t>(choice.path)].fetch_add(1, std::memory_order_relaxed);
  return choice;
}

}  // namespace

GatherChoice gather_auto(const void* table, std::size_t row_bytes, std::size_t num_rows, const std::int64_t* indices,
                         std::size_t count, void* out, cudaStream_t stream, const GatherAutoOptions& options,
                         MemoryResource& resource) {
  return gather_auto_rows(table, row_bytes, num_rows, indices, count, out, stream, options, resource);
}

GatherChoice gather_auto(const void* table, std::size_t row_bytes, std::size_t num_rows, const std::int32_t* indices,
                         std::size_t count, void* out, cudaStream_t stream, const GatherAutoOptions& options,
                         MemoryResource& resource) {
  return gather_auto_rows(table, row_bytes, num_rows, indices, count, out, stream, options, resource);
}

GatherAutoStatistics gather_auto_statistics() noexcept {
  GatherAutoStatistics s;
  for (std::size_t p = 0; p < gather_path_count; ++p) s.calls[p] = path_calls[p].load(std::memory_order_relaxed);
  return s;
}

void reset_gather_auto_statistics() noexcept {
  for (auto& c : path_calls) c.store(0, std::memory_order_relaxed);
}

}  // namespace ghtier
