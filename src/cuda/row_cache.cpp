// RowCache: choosing the hot rows, building the slot table, filling the cached copies, and the cached gather.
#include "ghtier/kernels/row_cache.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

#include <fmt/format.h>

#include "core/memory/gpu_access.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/log.hpp"
#include "core/support/nvtx_range.hpp"
#include "cuda/device_sm_count.hpp"
#include "cuda/gather_kernels.hpp"
#include "cuda/index_fault_sink.hpp"
#include "cuda/indexed_rows_arguments.hpp"
#include "cuda/row_cache_kernels.hpp"
#include "cuda/row_copy_plan.hpp"
#include "cuda/row_slot_table.hpp"
#include "ghtier/error.hpp"
#include "ghtier/memory/device_buffer.hpp"

namespace ghtier {

struct RowCache::State {
  const void* table = nullptr;
  std::size_t row_bytes = 0;
  std::size_t num_rows = 0;
  std::vector<std::int64_t> hot;  // ascending
  std::size_t slot_buckets = 0;
  MemoryResource* resource = nullptr;  // where every buffer below comes from (device-wide)
  DeviceBuffer rows;                   // hot.size() rows
  DeviceBuffer slots;                  // slot_buckets RowSlotEntry
  DeviceBuffer hot_ids;                // hot, on the device: the fill's index list
  DeviceBuffer meta;                   // [hits, misses] then the fill's IndexFault (never written: ids are valid)
  DeviceBuffer counts;                 // num_rows unsigned, once record() ran

  [[nodiscard]] unsigned long long* stats() const { return static_cast<unsigned long long*>(meta.data()); }
  [[nodiscard]] detail::IndexFault* fill_fault() const {
    return reinterpret_cast<detail::IndexFault*>(static_cast<unsigned char*>(meta.data()) + 2 * sizeof(std::uint64_t));
  }
};

namespace {
constexpr std::size_t meta_bytes = 2 * sizeof(std::uint64_t) + sizeof(detail::IndexFault);

template <class Count>
std::vector<std::int64_t> top_rows(std::span<const Count> counts, std::size_t k) {
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] != 0) ids.push_back(static_cast<std::int64_t>(i));
  }
  if (ids.size() > k) {
    const auto hotter = [&](std::int64_t a, std::int64_t b) {
      const Count ca = counts[static_cast<std::size_t>(a)];
      const Count cb = counts[static_cast<std::size_t>(b)];
      return ca != cb ? ca > cb : a < b;
    };
    std::nth_element(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(), hotter);
    ids.resize(k);
    std::sort(ids.begin(), ids.end());
  }
  return ids;
}

void validate_table(const void* table, std::size_t row_bytes, std::size_t num_rows) {
  if (row_bytes == 0) throw_error(ErrorCode::invalid_argument, "RowCache: row_bytes is 0");
  if (table == nullptr) throw_error(ErrorCode::invalid_argument, "RowCache: table is null");
  if (num_rows == 0) throw_error(ErrorCode::invalid_argument, "RowCache: the table has no rows (num_rows 0)");
  (void)detail::checked_product("RowCache", "table size num_rows * row_bytes", num_rows, row_bytes);
}

/// Sorted hot ids and their slot buckets, checked (no CUDA call): ids inside the table, none repeated.
struct HotSet {
  std::vector<std::int64_t> ids;  // ascending
  std::vector<detail::RowSlotEntry> buckets;
};

HotSet make_hot_set(std::vector<std::int64_t> ids, std::size_t num_rows, const char* operation) {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || static_cast<std::uint64_t>(ids[i]) >= num_rows) {
      throw_error(ErrorCode::invalid_argument, fmt::format("{}: hot_rows[{}] = {} is outside the table's rows [0, {})",
                                                           operation, i, ids[i], num_rows));
    }
  }
  std::sort(ids.begin(), ids.end());
  HotSet set;
  set.buckets = detail::build_row_slot_table(ids);  // throws on a repeated id
  set.ids = std::move(ids);
  return set;
}

/// Allocates a state for `hot` and uploads its slot table and ids on `stream` (fill() then reads the rows).
std::unique_ptr<RowCache::State> make_state(const void* table, std::size_t row_bytes, std::size_t num_rows, HotSet hot,
                                            cudaStream_t stream, MemoryResource& resource) {
  auto state = std::make_unique<RowCache::State>();
  state->table = table;
  state->row_bytes = row_bytes;
  state->num_rows = num_rows;
  state->slot_buckets = hot.buckets.size();
  state->resource = &resource;
  state->rows =
      DeviceBuffer::device_wide(detail::checked_product("RowCache", "cache size", hot.ids.size(), row_bytes), resource);
  state->slots = DeviceBuffer::device_wide(hot.buckets.size() * sizeof(detail::RowSlotEntry), resource);
  state->hot_ids = DeviceBuffer::device_wide(hot.ids.size() * sizeof(std::int64_t), resource);
  state->meta = DeviceBuffer::device_wide(meta_bytes, resource);
  // Pageable sources: cudaMemcpyAsync returns once it has staged them, so the vectors may go afterwards.
  GHTIER_CUDA_CHECK(
      cudaMemcpyAsync(state->slots.data(), hot.buckets.data(), state->slots.size(), cudaMemcpyHostToDevice, stream));
  if (!hot.ids.empty()) {
    GHTIER_CUDA_CHECK(
        cudaMemcpyAsync(state->hot_ids.data(), hot.ids.data(), state->hot_ids.size(), cudaMemcpyHostToDevice, stream));
  }
  GHTIER_CUDA_CHECK(cudaMemsetAsync(state->meta.data(), 0, meta_bytes, stream));
  state->hot = std::move(hot.ids);
  return state;
}

/// (Re)reads the cached rows from the table: a gather by the hot ids, in ascending address order.
void fill(const RowCache::State& state, cudaStream_t stream) {
  if (state.hot.empty()) return;
  detail::NvtxRange range("ghtier::row_cache_fill", state.hot.size() * state.row_bytes);
  const detail::RowCopyPlan plan = detail::plan_row_copy(
      state.row_bytes, state.hot.size(), reinterpret_cast<std::uintptr_t>(state.table), state.row_bytes,
      reinterpret_cast<std::uintptr_t>(state.rows.data()), state.row_bytes, detail::current_sm_count());
  detail::launch_gather(plan, state.table, state.row_bytes, state.num_rows,
                        static_cast<const std::int64_t*>(state.hot_ids.data()), state.hot.size(), state.rows.data(),
                        state.fill_fault(), stream);
}

template <class Index>
void record_rows(RowCache::State& state, const Index* indices, std::size_t count, cudaStream_t stream) {
  if (count == 0) return;
  if (indices == nullptr) {
    throw_error(ErrorCode::invalid_argument, fmt::format("RowCache::record: indices is null with count {}", count));
  }
  (void)detail::checked_product("RowCache::record", "indices size", count, sizeof(Index));
  detail::require_gpu_access(indices, count * sizeof(Index), "RowCache::record indices");
  if (state.counts.empty()) {
    state.counts = DeviceBuffer::device_wide(
        detail::checked_product("RowCache::record", "counters", state.num_rows, sizeof(unsigned)), *state.resource);
    GHTIER_CUDA_CHECK(cudaMemsetAsync(state.counts.data(), 0, state.counts.size(), stream));
  }
  detail::launch_count_rows(indices, count, state.num_rows, static_cast<unsigned*>(state.counts.data()),
                            detail::current_sm_count(), stream);
}

template <class Index>
void cached_gather(const RowCache::State& state, const Index* indices, std::size_t count, void* out,
                   cudaStream_t stream, IndexCheck* check) {
  const detail::IndexedRows args{
      "RowCache::gather", state.table, state.row_bytes, state.num_rows, indices, sizeof(Index), count, out, false};
  detail::validate_indexed_rows(args);
  if (count == 0) return;
  detail::NvtxRange range("ghtier::row_cache_gather", count * state.row_bytes);
  detail::require_gpu_access(indices, count * sizeof(Index), "RowCache::gather indices");
  detail::require_gpu_access(out, count * state.row_bytes, "RowCache::gather out");
  const detail::RowCopyPlan plan =
      detail::plan_row_copy(state.row_bytes, count, reinterpret_cast<std::uintptr_t>(state.table), state.row_bytes,
                            reinterpret_cast<std::uintptr_t>(out), state.row_bytes, detail::current_sm_count());
  detail::CachedTableView view;
  view.table = state.table;
  view.cached_rows = state.rows.data();
  view.slots = static_cast<const detail::RowSlotEntry*>(state.slots.data());
  view.slot_mask = state.slot_buckets - 1;
  view.row_bytes = state.row_bytes;
  view.num_rows = state.num_rows;
  view.stats = state.stats();
  detail::IndexFaultSink sink(check, stream, *state.resource);
  detail::launch_cached_gather(plan, view, indices, count, out, sink.record(), stream);
  sink.finish("RowCache::gather");
}
}  // namespace

RowCache::RowCache(std::unique_ptr<State> state) : state_(std::move(state)) {}

RowCache::RowCache(const void* table, std::size_t row_bytes, std::size_t num_rows,
                   std::span<const std::int64_t> hot_rows, cudaStream_t stream, MemoryResource& resource) {
  validate_table(table, row_bytes, num_rows);
  HotSet hot = make_hot_set(std::vector<std::int64_t>(hot_rows.begin(), hot_rows.end()), num_rows, "RowCache");
  detail::require_gpu_access(table, num_rows * row_bytes, "RowCache table");
  state_ = make_state(table, row_bytes, num_rows, std::move(hot), stream, resource);
  fill(*state_, stream);
  log(LogLevel::debug, "RowCache: {} of {} rows of {} B cached ({} slot buckets)", state_->hot.size(), num_rows,
      row_bytes, state_->slot_buckets);
}

RowCache RowCache::from_frequencies(const void* table, std::size_t row_bytes, std::size_t num_rows,
                                    std::span<const std::uint64_t> frequencies, std::size_t capacity_rows,
                                    cudaStream_t stream, MemoryResource& resource) {
  validate_table(table, row_bytes, num_rows);
  if (frequencies.size() != num_rows) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("RowCache::from_frequencies: {} frequencies for a table of {} rows", frequencies.size(), num_rows));
  }
  const std::vector<std::int64_t> hot = select_hot_rows(frequencies, capacity_rows);
  return RowCache(table, row_bytes, num_rows, hot, stream, resource);
}

std::vector<std::int64_t> RowCache::select_hot_rows(std::span<const std::uint64_t> frequencies, std::size_t k) {
  return top_rows(frequencies, k);
}

RowCache::~RowCache() = default;
RowCache::RowCache(RowCache&&) noexcept = default;
RowCache& RowCache::operator=(RowCache&&) noexcept = default;

namespace {
RowCache::State& live(const std::unique_ptr<RowCache::State>& state, const char* what) {
  if (!state) throw_error(ErrorCode::invalid_argument, fmt::format("RowCache::{}: moved-from RowCache", what));
  return *state;
}
}  // namespace

void RowCache::gather(const std::int64_t* indices, std::size_t count, void* out, cudaStream_t stream,
                      IndexCheck* check) {
  cached_gather(live(state_, "gather"), indices, count, out, stream, check);
}

void RowCache::gather(const std::int32_t* indices, std::size_t count, void* out, cudaStream_t stream,
                      IndexCheck* check) {
  cached_gather(live(state_, "gather"), indices, count, out, stream, check);
}

void RowCache::record(const std::int64_t* indices, std::size_t count, cudaStream_t stream) {
  record_rows(live(state_, "record"), indices, count, stream);
}

void RowCache::record(const std::int32_t* indices, std::size_t count, cudaStream_t stream) {
  record_rows(live(state_, "record"), indices, count, stream);
}

void RowCache::refresh(std::size_t capacity_rows, cudaStream_t stream) {
  State& state = live(state_, "refresh");
  if (state.counts.empty()) {
    throw_error(ErrorCode::invalid_argument, "RowCache::refresh: nothing was recorded (call record() first)");
  }
  std::vector<unsigned> counts(state.num_rows);
  GHTIER_CUDA_CHECK(
      cudaMemcpyAsync(counts.data(), state.counts.data(), state.counts.size(), cudaMemcpyDeviceToHost, stream));
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::unique_ptr<State> next = make_state(
      state.table, state.row_bytes, state.num_rows,
      make_hot_set(top_rows(std::span<const unsigned>(counts), capacity_rows), state.num_rows, "RowCache::refresh"),
      stream, *state.resource);
  next->counts = std::move(state.counts);
  GHTIER_CUDA_CHECK(cudaMemsetAsync(next->counts.data(), 0, next->counts.size(), stream));
  fill(*next, stream);
  // The old buffers go now: a device-wide buffer waits for the work that may still read it.
  state_ = std::move(next);
}

void RowCache::reload(cudaStream_t stream) { fill(live(state_, "reload"), stream); }

RowCache::Stats RowCache::stats(cudaStream_t stream) const {
  const State& state = live(state_, "stats");
  unsigned long long values[2] = {0, 0};
  GHTIER_CUDA_CHECK(cudaMemcpyAsync(values, state.stats(), sizeof values, cudaMemcpyDeviceToHost, stream));
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
  return Stats{values[0], values[1]};
}

void RowCache::reset_stats(cudaStream_t stream) {
  GHTIER_CUDA_CHECK(cudaMemsetAsync(live(state_, "reset_stats").stats(), 0, 2 * sizeof(std::uint64_t), stream));
}

std::size_t RowCache::cached_rows() const noexcept { return state_ ? state_->hot.size() : 0; }
std::size_t RowCache::row_bytes() const noexcept { return state_ ? state_->row_bytes : 0; }
std::size_t RowCache::num_rows() const noexcept { return state_ ? state_->num_rows : 0; }
std::span<const std::int64_t> RowCache::hot_rows() const noexcept {
  return state_ ? std::span<const std::int64_t>(state_->hot) : std::span<const std::int64_t>();
}
std::size_t RowCache::device_bytes() const noexcept {
  if (!state_) return 0;
  return state_->rows.size() + state_->slots.size() + state_->hot_ids.size() + state_->meta.size() +
         state_->counts.size();
}

}  // namespace ghtier
