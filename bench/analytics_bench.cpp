// The "analytics" suite: scans, aggregates, group-bys and hash-join probes over columns in pinned CPU memory
// (64 Mi rows with --quick, 256 Mi otherwise), plain and bit-packed (12-bit keys), and the ways a user
// would do the same work, in the same run:
//   direct             the ghtier kernel reads the columns in place over the link;
//   copy_then_compute  chunked cudaMemcpyAsync into two device buffer sets on a copy stream, the same kernel
//                      on each chunk in device memory on a compute stream (double-buffered, overlapped);
//   device             the same kernel on a copy of the columns already in HBM (the kernel's own speed);
//   cpu                16 CPU threads (std::thread) over the same pinned columns.
// GBps counts the bytes that cross the link (direct, copy_then_compute: the columns read, packed bytes for
// packed columns) or that the kernel reads (device, cpu), over the median iteration; the ceiling is the SM
// read rate of pinned memory measured in the same run (measured_ceiling: sm_read; hbm for `device`; none for
// the CPU-only `cpu`). Packed cases
// add logical_GBps (decoded bytes per second) and logical_ratio (against the same ceiling). Targets,
// printed as counters and never asserted: target_ratio 0.9 for the direct scans, aggregates and probes
// (packed ones too, in link bytes), target_logical_ratio 2 for the direct packed cases. Every case checks its
// result against a CPU reference. For an A/B of the packed probe in the same run (direct and device only):
// packed_probe_12bit_keys_warp_synchronous runs the first release's kernel, _staged_homes the pipelined one
// with the home slots hashed before the walks (the default until 2026-12-04: twice the shared memory per warp,
// so less L1 left for the table).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bench_suite.hpp"
#include "core/support/cuda_check.hpp"
#include "cuda/aggregate_kernels.hpp"
#include "cuda/aggregate_slots.hpp"
#include "cuda/column_scan_plan.hpp"
#include "cuda/current_device_limits.hpp"
#include "cuda/group_by_kernels.hpp"
#include "cuda/hash_join_kernels.hpp"
#include "cuda/hash_table_slots.hpp"
#include "ghtier/kernels/aggregate.hpp"
#include "ghtier/kernels/bitpacked_column.hpp"
#include "ghtier/kernels/group_by.hpp"
#include "ghtier/kernels/hash_join.hpp"
#include "link_ceilings.hpp"

namespace ghtier::bench {

namespace {

constexpr std::uint64_t Mi = std::uint64_t{1} << 20;
constexpr double target_ratio = 0.9;
constexpr double target_logical_ratio = 2.0;
constexpr std::int32_t filter_bound = 1 << 30;    // the filtered aggregate keeps int32 values in [-2^30, 2^30]
constexpr std::uint32_t packed_key_range = 4096;  // 12-bit keys

struct Config {
  std::uint64_t rows;
  std::uint64_t chunk_rows;  // copy_then_compute's chunk
  std::uint32_t dim_rows;    // the join's build side
  int iterations;
};

Config config_for(const BenchOptions& options) {
  if (options.quick) return {64 * Mi, 4 * Mi, 1u << 20, 5};
  return {256 * Mi, 8 * Mi, 4u << 20, 10};
}

enum class Op {
  aggregate_int32,
  aggregate_float64,
  aggregate_filtered,
  group_by_64,
  group_by_4096,
  join_probe,
  packed_aggregate,
  packed_probe,
  // Variants of the packed probe for an A/B in the same run (direct and device only):
  packed_probe_warp_synchronous,  // the first release's kernel
  packed_probe_staged_homes  // the pipelined kernel with the homes hashed before the walks (twice its shared memory)
};
enum class Method { direct, copy_then_compute, device, cpu };

const char* op_name(Op op) {
  switch (op) {
    case Op::aggregate_int32: return "aggregate_int32";
    case Op::aggregate_float64: return "aggregate_float64";
    case Op::aggregate_filtered: return "aggregate_float64_where_int32";
    case Op::group_by_64: return "group_by_int32_64_groups";
    case Op::group_by_4096: return "group_by_int32_4096_groups";
    case Op::join_probe: return "join_probe_int32_keys";
    case Op::packed_aggregate: return "packed_aggregate_12bit";
    case Op::packed_probe: return "packed_probe_12bit_keys";
    case Op::packed_probe_warp_synchronous: return "packed_probe_12bit_keys_warp_synchronous";
    case Op::packed_probe_staged_homes: return "packed_probe_12bit_keys_staged_homes";
  }
  return "unknown";
}
const char* method_name(Method method) {
  switch (method) {
    case Method::direct: return "direct";
    case Method::copy_then_compute: return "copy_then_compute";
    case Method::device: return "device";
    case Method::cpu: return "cpu";
  }
  return "unknown";
}
bool is_packed_probe_variant(Op op) {
  return op == Op::packed_probe_warp_synchronous || op == Op::packed_probe_staged_homes;
}
bool is_packed_probe(Op op) { return op == Op::packed_probe || is_packed_probe_variant(op); }
bool is_packed(Op op) { return op == Op::packed_aggregate || is_packed_probe(op); }
bool is_probe(Op op) { return op == Op::join_probe || is_packed_probe(op); }

// ---- memory -------------------------------------------------------------------------------------------

struct HostFree {
  void operator()(void* p) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaFreeHost(p)); }
};
struct DeviceFree {
  void operator()(void* p) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaFree(p)); }
};
struct StreamDestroy {
  void operator()(cudaStream_t s) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(s)); }
};
struct EventDestroy {
  void operator()(cudaEvent_t e) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(e)); }
};
using Pinned = std::unique_ptr<unsigned char, HostFree>;
using Device = std::unique_ptr<unsigned char, DeviceFree>;
using Stream = std::unique_ptr<std::remove_pointer_t<cudaStream_t>, StreamDestroy>;
using Event = std::unique_ptr<std::remove_pointer_t<cudaEvent_t>, EventDestroy>;

Pinned pinned(std::size_t bytes) {
  void* p = nullptr;
  GHTIER_CUDA_CHECK(cudaHostAlloc(&p, std::max<std::size_t>(bytes, 16), cudaHostAllocDefault));
  return Pinned(static_cast<unsigned char*>(p));
}
Device device_bytes(std::size_t bytes) {
  void* p = nullptr;
  GHTIER_CUDA_CHECK(cudaMalloc(&p, std::max<std::size_t>(bytes, 16)));
  return Device(static_cast<unsigned char*>(p));
}
Stream make_stream() {
  cudaStream_t s = nullptr;
  GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return Stream(s);
}
Event make_event() {
  cudaEvent_t e = nullptr;
  GHTIER_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  return Event(e);
}

unsigned cpu_threads() { return std::min(16u, std::max(1u, std::thread::hardware_concurrency())); }

// Runs fn(first, last) over [0, count) on cpu_threads() threads.
template <typename Fn>
void parallel_ranges(std::uint64_t count, Fn&& fn) {
  const unsigned n = cpu_threads();
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < n; ++t) {
    const std::uint64_t first = count * t / n;
    const std::uint64_t last = count * (t + 1) / n;
    threads.emplace_back([&fn, t, first, last] { fn(t, first, last); });
  }
  for (auto& thread : threads) thread.join();
}

// A cheap, stateless random function of the row (so that columns fill in parallel, reproducibly).
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

enum class ColumnId { i32, f64, keys64, keys4096, probe };

// A column in pinned memory, and (when a `device` case asked for it) its copy in HBM.
struct Column {
  Pinned host;
  Device device;
  std::size_t bytes = 0;
};

// What the cases share; every piece is made on first use (a filtered run pays only for what it runs)
// and freed after the run.
struct Shared {
  Config config;
  std::map<ColumnId, Column> columns;
  // The packed 12-bit key column (packed from keys4096) in pinned memory, and its copy in HBM.
  std::optional<BitpackedColumnView> packed;
  Pinned packed_host;
  Device packed_device;
  std::size_t packed_header_bytes = 0;
  // Build sides: the dimension table (keys 0..dim_rows-1 shuffled, int64 payload) and the small table of
  // the packed probe (even keys below 4096, payload = key).
  std::vector<std::int32_t> dim_keys;
  std::vector<std::int64_t> dim_payload;
  std::optional<HashJoinTable> dim_table;
  std::optional<HashJoinTable> small_table;
  // Scratch for results and copy_then_compute's chunks.
  Device scratch;
  Device chunks[2][2];
  Stream stream;
  Stream copy_stream;
  Event copied[2];
  Event consumed[2];
  std::unique_ptr<StreamBlocker> blocker;
};

Shared& shared(const Config& config) {
  static std::mutex mutex;
  static std::unique_ptr<Shared> instance;
  std::lock_guard lock(mutex);
  if (!instance) {
    auto s = std::make_unique<Shared>();
    s->config = config;
    s->stream = make_stream();
    s->copy_stream = make_stream();
    for (int b = 0; b < 2; ++b) {
      s->copied[b] = make_event();
      s->consumed[b] = make_event();
      for (int c = 0; c < 2; ++c) s->chunks[b][c] = device_bytes(config.chunk_rows * 8);
    }
    s->scratch = device_bytes(detail::aggregate_slots_bytes(packed_key_range) +
                              packed_key_range * sizeof(AggregateResult) + 4096);
    s->blocker = std::make_unique<StreamBlocker>();
    instance = std::move(s);
    on_suite_cleanup([] {
      std::lock_guard inner(mutex);
      instance.reset();
    });
  }
  return *instance;
}

std::size_t value_size(ColumnId id) { return id == ColumnId::f64 ? 8 : 4; }

Column& column(Shared& s, ColumnId id) {
  auto found = s.columns.find(id);
  if (found != s.columns.end()) return found->second;
  Column column;
  const std::uint64_t rows = s.config.rows;
  column.bytes = rows * value_size(id);
  column.host = pinned(column.bytes);
  unsigned char* base = column.host.get();
  const std::uint64_t seed = static_cast<std::uint64_t>(id) << 56;
  const std::uint32_t probe_range = 2 * s.config.dim_rows;  // half the probe keys find a match
  parallel_ranges(rows, [&](unsigned, std::uint64_t first, std::uint64_t last) {
    for (std::uint64_t i = first; i < last; ++i) {
      const std::uint64_t r = mix(seed + i);
      switch (id) {
        case ColumnId::i32: reinterpret_cast<std::int32_t*>(base)[i] = static_cast<std::int32_t>(r); break;
        case ColumnId::f64:
          reinterpret_cast<double*>(base)[i] = static_cast<double>(r >> 11) * 0x1.0p-53 * 2000.0 - 1000.0;
          break;
        case ColumnId::keys64: reinterpret_cast<std::int32_t*>(base)[i] = static_cast<std::int32_t>(r % 64); break;
        case ColumnId::keys4096:
          reinterpret_cast<std::int32_t*>(base)[i] = static_cast<std::int32_t>(r % packed_key_range);
          break;
        case ColumnId::probe:
          reinterpret_cast<std::int32_t*>(base)[i] = static_cast<std::int32_t>(r % probe_range);
          break;
      }
    }
  });
  return s.columns.emplace(id, std::move(column)).first->second;
}

const unsigned char* device_copy(Shared& s, ColumnId id) {
  Column& c = column(s, id);
  if (!c.device) {
    c.device = device_bytes(c.bytes);
    GHTIER_CUDA_CHECK(cudaMemcpy(c.device.get(), c.host.get(), c.bytes, cudaMemcpyHostToDevice));
  }
  return c.device.get();
}

const BitpackedColumnView& packed_column(Shared& s) {
  if (!s.packed) {
    const Column& keys = column(s, ColumnId::keys4096);
    const std::span<const std::int32_t> values(reinterpret_cast<const std::int32_t*>(keys.host.get()), s.config.rows);
    const BitpackPlan plan = plan_bitpack(values);
    s.packed_header_bytes = (plan.blocks.size() * sizeof(BitpackBlockHeader) + 255) / 256 * 256;
    s.packed_host = pinned(s.packed_header_bytes + plan.word_count * 4);
    auto* headers = reinterpret_cast<BitpackBlockHeader*>(s.packed_host.get());
    auto* words = reinterpret_cast<std::uint32_t*>(s.packed_host.get() + s.packed_header_bytes);
    s.packed = bitpack_into(values, plan, std::span(headers, plan.blocks.size()), std::span(words, plan.word_count));
  }
  return *s.packed;
}

BitpackedColumnView packed_device_copy(Shared& s) {
  const BitpackedColumnView& host = packed_column(s);
  const std::size_t bytes = s.packed_header_bytes + host.word_count * 4;
  if (!s.packed_device) {
    s.packed_device = device_bytes(bytes);
    GHTIER_CUDA_CHECK(cudaMemcpy(s.packed_device.get(), s.packed_host.get(), bytes, cudaMemcpyHostToDevice));
  }
  BitpackedColumnView view = host;
  view.blocks = reinterpret_cast<const BitpackBlockHeader*>(s.packed_device.get());
  view.words = reinterpret_cast<const std::uint32_t*>(s.packed_device.get() + s.packed_header_bytes);
  return view;
}

const HashJoinTable& dim_table(Shared& s) {
  if (!s.dim_table) {
    const std::uint32_t n = s.config.dim_rows;
    s.dim_keys.resize(n);
    s.dim_payload.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) s.dim_keys[i] = static_cast<std::int32_t>(i);
    for (std::uint32_t i = n; i > 1; --i) std::swap(s.dim_keys[i - 1], s.dim_keys[mix(i) % i]);
    for (std::uint32_t i = 0; i < n; ++i)
      s.dim_payload[i] = static_cast<std::int64_t>(mix(~std::uint64_t{i}) % 1000000);
    // The build side is small: build from pinned copies (the build reads it in place too).
    Pinned keys = pinned(n * sizeof(std::int32_t));
    Pinned payload = pinned(n * sizeof(std::int64_t));
    std::memcpy(keys.get(), s.dim_keys.data(), n * sizeof(std::int32_t));
    std::memcpy(payload.get(), s.dim_payload.data(), n * sizeof(std::int64_t));
    s.dim_table.emplace(column_view(reinterpret_cast<const std::int32_t*>(keys.get()), n),
                        column_view(reinterpret_cast<const std::int64_t*>(payload.get()), n), s.stream.get());
  }
  return *s.dim_table;
}

const HashJoinTable& small_table(Shared& s) {
  if (!s.small_table) {
    const std::uint32_t n = packed_key_range / 2;
    Pinned keys = pinned(n * sizeof(std::int32_t));
    auto* k = reinterpret_cast<std::int32_t*>(keys.get());
    for (std::uint32_t i = 0; i < n; ++i) k[i] = static_cast<std::int32_t>(2 * i);
    s.small_table.emplace(column_view(k, n), column_view(k, n), s.stream.get());
  }
  return *s.small_table;
}

detail::HashTableView table_view(const HashJoinTable& table) {
  detail::HashTableView view;
  view.slots = const_cast<void*>(table.device_slots());
  view.payloads = const_cast<void*>(table.device_payloads());
  view.capacity = table.layout().capacity;
  view.key_type = table.key_type();
  view.payload = table.payload_type() ? (is_integer(*table.payload_type()) ? detail::PayloadKind::integer
                                                                           : detail::PayloadKind::floating)
                                      : detail::PayloadKind::none;
  return view;
}

// ---- what each case computes, and its check -----------------------------------------------------------

// The part of a result every method reports and the check compares: rows counted and the sum.
struct Outcome {
  std::uint64_t count = 0;
  std::int64_t sum_int = 0;
  double sum_float = 0;
};

bool same_outcome(const Outcome& a, const Outcome& b, bool floating) {
  if (a.count != b.count) return false;
  if (!floating) return a.sum_int == b.sum_int;
  return std::fabs(a.sum_float - b.sum_float) <= 1e-9 * std::max(1.0, std::fabs(b.sum_float)) + 1e-3;
}

// The columns each op reads, in order (the packed ops read the packed column instead).
std::vector<ColumnId> columns_of(Op op) {
  switch (op) {
    case Op::aggregate_int32: return {ColumnId::i32};
    case Op::aggregate_float64: return {ColumnId::f64};
    case Op::aggregate_filtered: return {ColumnId::f64, ColumnId::i32};
    case Op::group_by_64: return {ColumnId::keys64, ColumnId::i32};
    case Op::group_by_4096: return {ColumnId::keys4096, ColumnId::i32};
    case Op::join_probe: return {ColumnId::probe};
    case Op::packed_aggregate:
    case Op::packed_probe:
    case Op::packed_probe_warp_synchronous:
    case Op::packed_probe_staged_homes: return {ColumnId::keys4096};
  }
  return {};
}

// Groups of the op's result: 64 or 4096 for the group-bys, 1 for everything else.
std::uint32_t groups_of(Op op) {
  if (op == Op::group_by_64) return 64;
  return op == Op::group_by_4096 ? packed_key_range : 1;
}
bool floating_result(Op op) { return op == Op::aggregate_float64 || op == Op::aggregate_filtered; }

// Multi-threaded CPU version over the pinned columns (packed ops use the plain key column: the CPU does
// not need the link, so it has nothing to gain from decoding).
Outcome run_cpu(Shared& s, Op op) {
  const std::uint64_t rows = s.config.rows;
  const unsigned n = cpu_threads();
  std::vector<Outcome> partial(n);
  const auto* i32 = [&]() -> const std::int32_t* {
    if (op == Op::aggregate_int32 || op == Op::aggregate_filtered || op == Op::group_by_64 || op == Op::group_by_4096) {
      return reinterpret_cast<const std::int32_t*>(column(s, ColumnId::i32).host.get());
    }
    return nullptr;
  }();
  switch (op) {
    case Op::aggregate_int32: {
      std::vector<std::int64_t> lows(n), highs(n);
      parallel_ranges(rows, [&](unsigned t, std::uint64_t first, std::uint64_t last) {
        std::int64_t sum = 0, low = INT64_MAX, high = INT64_MIN;
        for (std::uint64_t i = first; i < last; ++i) {
          sum += i32[i];
          low = std::min<std::int64_t>(low, i32[i]);
          high = std::max<std::int64_t>(high, i32[i]);
        }
        partial[t] = {last - first, sum, 0};
        lows[t] = low;
        highs[t] = high;
      });
      break;
    }
    case Op::aggregate_float64:
    case Op::aggregate_filtered: {
      const auto* f64 = reinterpret_cast<const double*>(column(s, ColumnId::f64).host.get());
      const bool filtered = op == Op::aggregate_filtered;
      std::vector<double> lows(n), highs(n);
      parallel_ranges(rows, [&](unsigned t, std::uint64_t first, std::uint64_t last) {
        double sum = 0, low = INFINITY, high = -INFINITY;
        std::uint64_t count = 0;
        for (std::uint64_t i = first; i < last; ++i) {
          if (filtered && (i32[i] < -filter_bound || i32[i] > filter_bound)) continue;
          ++count;
          sum += f64[i];
          low = std::min(low, f64[i]);
          high = std::max(high, f64[i]);
        }
        partial[t] = {count, 0, sum};
        lows[t] = low;
        highs[t] = high;
      });
      break;
    }
    case Op::group_by_64:
    case Op::group_by_4096: {
      const std::uint32_t groups = groups_of(op);
      const auto* keys = reinterpret_cast<const std::int32_t*>(
          column(s, op == Op::group_by_64 ? ColumnId::keys64 : ColumnId::keys4096).host.get());
      std::vector<std::vector<std::int64_t>> counts(n, std::vector<std::int64_t>(groups));
      std::vector<std::vector<std::int64_t>> sums(n, std::vector<std::int64_t>(groups));
      std::vector<std::vector<std::int32_t>> lows(n, std::vector<std::int32_t>(groups, INT32_MAX));
      std::vector<std::vector<std::int32_t>> highs(n, std::vector<std::int32_t>(groups, INT32_MIN));
      parallel_ranges(rows, [&](unsigned t, std::uint64_t first, std::uint64_t last) {
        auto& count = counts[t];
        auto& sum = sums[t];
        auto& low = lows[t];
        auto& high = highs[t];
        for (std::uint64_t i = first; i < last; ++i) {
          const auto g = static_cast<std::uint32_t>(keys[i]);
          if (g >= groups) continue;
          ++count[g];
          sum[g] += i32[i];
          low[g] = std::min(low[g], i32[i]);
          high[g] = std::max(high[g], i32[i]);
        }
      });
      // Merge (part of the work a CPU version does), then total for the check.
      std::vector<std::int64_t> count(groups), sum(groups);
      for (unsigned t = 0; t < n; ++t) {
        for (std::uint32_t g = 0; g < groups; ++g) {
          count[g] += counts[t][g];
          sum[g] += sums[t][g];
        }
      }
      Outcome total;
      for (std::uint32_t g = 0; g < groups; ++g) {
        total.count += static_cast<std::uint64_t>(count[g]);
        total.sum_int += sum[g];
      }
      return total;
    }
    case Op::join_probe:
    case Op::packed_probe:
    case Op::packed_probe_warp_synchronous:
    case Op::packed_probe_staged_homes: {
      // Open addressing on the CPU, the same layout idea as the GPU's (built once, untimed, per process).
      static std::mutex table_mutex;
      static std::map<Op, std::pair<std::vector<detail::HashSlot32>, std::vector<std::int64_t>>> tables;
      std::lock_guard lock(table_mutex);
      // (named references, not a structured binding: lambdas capture them below; both packed probes share one)
      auto& entry = tables[op == Op::join_probe ? op : Op::packed_probe];
      std::vector<detail::HashSlot32>& slots = entry.first;
      std::vector<std::int64_t>& payloads = entry.second;
      if (slots.empty()) {
        std::vector<std::int32_t> keys;
        std::vector<std::int64_t> values;
        if (op == Op::join_probe) {
          (void)dim_table(s);
          keys = s.dim_keys;
          values = s.dim_payload;
        } else {
          for (std::int32_t k = 0; k < static_cast<std::int32_t>(packed_key_range); k += 2) {
            keys.push_back(k);
            values.push_back(k);
          }
        }
        const HashTableLayout layout = hash_table_layout(keys.size(), ColumnType::int32, true);
        slots.assign(layout.capacity, detail::HashSlot32{0, detail::empty_row});
        payloads.assign(layout.capacity, 0);
        for (std::size_t i = 0; i < keys.size(); ++i) {
          std::uint64_t slot = detail::home_slot(keys[i], layout.capacity);
          while (slots[slot].row != detail::empty_row) slot = (slot + 1) & (layout.capacity - 1);
          slots[slot] = {keys[i], static_cast<std::uint32_t>(i)};
          payloads[slot] = values[i];
        }
      }
      const auto* probe = reinterpret_cast<const std::int32_t*>(
          column(s, op == Op::join_probe ? ColumnId::probe : ColumnId::keys4096).host.get());
      const std::uint64_t mask = slots.size() - 1;
      parallel_ranges(rows, [&](unsigned t, std::uint64_t first, std::uint64_t last) {
        std::uint64_t matches = 0;
        std::int64_t sum = 0;
        for (std::uint64_t i = first; i < last; ++i) {
          std::uint64_t slot = detail::home_slot(probe[i], slots.size());
          while (slots[slot].row != detail::empty_row) {
            if (slots[slot].key == probe[i]) {
              ++matches;
              sum += payloads[slot];
            }
            slot = (slot + 1) & mask;
          }
        }
        partial[t] = {matches, sum, 0};
      });
      break;
    }
    case Op::packed_aggregate: {
      const auto* keys = reinterpret_cast<const std::int32_t*>(column(s, ColumnId::keys4096).host.get());
      parallel_ranges(rows, [&](unsigned t, std::uint64_t first, std::uint64_t last) {
        std::int64_t sum = 0;
        for (std::uint64_t i = first; i < last; ++i) sum += keys[i];
        partial[t] = {last - first, sum, 0};
      });
      break;
    }
  }
  Outcome total;
  for (const auto& p : partial) {
    total.count += p.count;
    total.sum_int += p.sum_int;
    total.sum_float += p.sum_float;
  }
  return total;
}

// Device memory for results, carved from s.scratch.
struct ResultSpace {
  detail::AggregateSlots slots;
  AggregateResult* results = nullptr;  // up to 4096
  detail::JoinAccumulator* join = nullptr;
  JoinResult* join_result = nullptr;
};

ResultSpace result_space(Shared& s, std::uint32_t groups) {
  ResultSpace r;
  unsigned char* base = s.scratch.get();
  r.slots = detail::carve_aggregate_slots(base, groups);
  base += detail::aggregate_slots_bytes(packed_key_range);
  r.results = reinterpret_cast<AggregateResult*>(base);
  base += packed_key_range * sizeof(AggregateResult);
  r.join = reinterpret_cast<detail::JoinAccumulator*>(base);
  r.join_result = reinterpret_cast<JoinResult*>(base + 256);
  return r;
}

// Reads the result the last GPU iteration left in the scratch.
Outcome read_gpu_outcome(Shared& s, Op op) {
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(s.stream.get()));
  const ResultSpace space = result_space(s, groups_of(op));
  Outcome outcome;
  if (is_probe(op)) {
    JoinResult r;
    GHTIER_CUDA_CHECK(cudaMemcpy(&r, space.join_result, sizeof(r), cudaMemcpyDeviceToHost));
    return {r.matches, r.payload_sum_int, 0};
  }
  const std::uint32_t groups = groups_of(op);
  std::vector<AggregateResult> results(groups);
  GHTIER_CUDA_CHECK(
      cudaMemcpy(results.data(), space.results, groups * sizeof(AggregateResult), cudaMemcpyDeviceToHost));
  for (const auto& r : results) {
    outcome.count += r.count;
    outcome.sum_int += r.sum_int;
    outcome.sum_float += r.sum_float;
  }
  return outcome;
}

int sm_count() { return detail::current_device_limits().sm_count; }

// The kernel of `op` over `rows` rows whose columns start at cols[0..] (device or pinned), adding into the
// accumulators of `space` (initialised by the caller): used on whole columns and on chunks.
void launch_op_kernel(Shared& s, Op op, const unsigned char* const* cols, std::uint64_t rows, const ResultSpace& space,
                      cudaStream_t stream) {
  auto address = [](const void* p, std::size_t size) {
    return detail::ColumnAddress{reinterpret_cast<std::uintptr_t>(p), size};
  };
  switch (op) {
    case Op::aggregate_int32:
    case Op::aggregate_float64: {
      const bool f64 = op == Op::aggregate_float64;
      const std::array<detail::ColumnAddress, 1> addresses{address(cols[0], f64 ? 8 : 4)};
      detail::launch_aggregate(detail::ScanColumn{cols[0], f64 ? ColumnType::float64 : ColumnType::int32}, {},
                               detail::plan_scan(rows, addresses, sm_count()), space.slots, stream);
      break;
    }
    case Op::aggregate_filtered: {
      const std::array<detail::ColumnAddress, 2> addresses{address(cols[0], 8), address(cols[1], 4)};
      detail::ScanFilter filter;
      filter.enabled = true;
      filter.column = detail::ScanColumn{cols[1], ColumnType::int32};
      filter.min_int = -filter_bound;
      filter.max_int = filter_bound;
      detail::launch_aggregate(detail::ScanColumn{cols[0], ColumnType::float64}, filter,
                               detail::plan_scan(rows, addresses, sm_count()), space.slots, stream);
      break;
    }
    case Op::group_by_64:
    case Op::group_by_4096: {
      const std::array<detail::ColumnAddress, 2> addresses{address(cols[0], 4), address(cols[1], 4)};
      const detail::ScanShape shape = detail::plan_scan(rows, addresses, sm_count());
      const detail::DeviceLimits limits = detail::current_device_limits();
      const detail::GroupByLaunch launch =
          detail::plan_group_by_launch(groups_of(op), shape.vectors.body_steps, limits.sm_count,
                                       limits.shared_per_block_optin, limits.shared_per_sm);
      detail::launch_group_by(detail::ScanColumn{cols[0], ColumnType::int32},
                              detail::ScanColumn{cols[1], ColumnType::int32}, {}, shape, launch, space.slots, stream);
      break;
    }
    case Op::join_probe: {
      const std::array<detail::ColumnAddress, 1> addresses{address(cols[0], 4)};
      detail::launch_hash_join_probe(detail::ScanColumn{cols[0], ColumnType::int32},
                                     detail::plan_scan(rows, addresses, sm_count()), table_view(dim_table(s)), {},
                                     space.join, stream);
      break;
    }
    case Op::packed_aggregate:
    case Op::packed_probe:
    case Op::packed_probe_warp_synchronous:
    case Op::packed_probe_staged_homes: break;  // see launch_packed
  }
}

detail::PackedProbeKernel packed_probe_kernel_of(Op op) {
  if (op == Op::packed_probe_warp_synchronous) return detail::PackedProbeKernel::warp_synchronous;
  if (op == Op::packed_probe_staged_homes) return detail::PackedProbeKernel::pipelined_staged_homes;
  return detail::PackedProbeKernel::pipelined;
}

// The packed kernels over `view` (whole column or a chunk of it).
void launch_packed(Shared& s, Op op, const BitpackedColumnView& view, const ResultSpace& space, cudaStream_t stream) {
  detail::PackedColumn packed;
  packed.blocks = view.blocks;
  packed.words = view.words;
  packed.word_count = view.word_count;
  packed.rows = view.rows;
  packed.block_count = view.block_count();
  packed.value_type = view.value_type;
  // The pipelined probes have their own grid; the aggregate and the first release's probe the packed grid.
  const bool pipelined = op == Op::packed_probe || op == Op::packed_probe_staged_homes;
  const detail::ScanGrid grid = pipelined ? detail::plan_packed_probe_grid(packed.block_count, sm_count())
                                          : detail::plan_packed_grid(packed.block_count, sm_count());
  if (op == Op::packed_aggregate) {
    detail::launch_packed_aggregate(packed, {}, grid, space.slots, stream);
  } else {
    detail::launch_packed_hash_join_probe(packed, grid, table_view(small_table(s)), {}, space.join, stream,
                                          packed_probe_kernel_of(op));
  }
}

void init_results(const ResultSpace& space, Op op, cudaStream_t stream) {
  if (is_probe(op)) {
    detail::launch_join_init(space.join, stream);
  } else {
    detail::launch_aggregate_init(space.slots, stream);
  }
}

void finalize_results(Shared& s, const ResultSpace& space, Op op, cudaStream_t stream) {
  if (is_probe(op)) {
    detail::launch_join_finalize(space.join, detail::PayloadKind::integer, false, 0, space.join_result, stream);
  } else {
    detail::launch_aggregate_finalize(space.slots, floating_result(op) ? ColumnType::float64 : ColumnType::int32,
                                      space.results, nullptr, stream);
  }
  (void)s;
}

// direct / device: the public stream-ordered API on whole columns (packed: the kernels directly, since
// the packed API waits for its result and cannot be queued behind the StreamBlocker).
void enqueue_whole(Shared& s, Op op, bool in_hbm, const ResultSpace& space, cudaStream_t stream) {
  auto data = [&](ColumnId id) -> const void* {
    return in_hbm ? static_cast<const void*>(device_copy(s, id)) : static_cast<const void*>(column(s, id).host.get());
  };
  const std::uint64_t rows = s.config.rows;
  switch (op) {
    case Op::aggregate_int32:
      aggregate_async(column_view(static_cast<const std::int32_t*>(data(ColumnId::i32)), rows), {}, space.results,
                      stream);
      break;
    case Op::aggregate_float64:
      aggregate_async(column_view(static_cast<const double*>(data(ColumnId::f64)), rows), {}, space.results, stream);
      break;
    case Op::aggregate_filtered: {
      AggregateOptions options;
      options.filter = RangeFilter::int_range(column_view(static_cast<const std::int32_t*>(data(ColumnId::i32)), rows),
                                              -filter_bound, filter_bound);
      aggregate_async(column_view(static_cast<const double*>(data(ColumnId::f64)), rows), options, space.results,
                      stream);
      break;
    }
    case Op::group_by_64:
    case Op::group_by_4096:
      group_by_async(column_view(static_cast<const std::int32_t*>(
                                     data(op == Op::group_by_64 ? ColumnId::keys64 : ColumnId::keys4096)),
                                 rows),
                     column_view(static_cast<const std::int32_t*>(data(ColumnId::i32)), rows), groups_of(op), {},
                     space.results, nullptr, stream);
      break;
    case Op::join_probe:
      dim_table(s).probe_async(column_view(static_cast<const std::int32_t*>(data(ColumnId::probe)), rows), {},
                               space.join_result, stream);
      break;
    case Op::packed_aggregate:
    case Op::packed_probe:
    case Op::packed_probe_warp_synchronous:
    case Op::packed_probe_staged_homes: {
      const BitpackedColumnView view = in_hbm ? packed_device_copy(s) : packed_column(s);
      init_results(space, op, stream);
      launch_packed(s, op, view, space, stream);
      finalize_results(s, space, op, stream);
      break;
    }
  }
}

// copy_then_compute: chunks of chunk_rows rows copied into one of two device buffer sets on the copy
// stream while the compute stream runs the kernel on the other set.
void enqueue_chunked(Shared& s, Op op, const ResultSpace& space, cudaStream_t stream) {
  cudaStream_t copy = s.copy_stream.get();
  const std::uint64_t rows = s.config.rows;
  Event start = make_event();
  GHTIER_CUDA_CHECK(cudaEventRecord(start.get(), stream));
  GHTIER_CUDA_CHECK(cudaStreamWaitEvent(copy, start.get()));
  init_results(space, op, stream);
  const std::uint64_t chunk_rows = s.config.chunk_rows;
  const std::uint64_t chunks = (rows + chunk_rows - 1) / chunk_rows;
  const BitpackedColumnView* packed = is_packed(op) ? &packed_column(s) : nullptr;
  const std::vector<ColumnId> ids = columns_of(op);
  for (std::uint64_t c = 0; c < chunks; ++c) {
    const int b = static_cast<int>(c % 2);
    const std::uint64_t first = c * chunk_rows;
    const std::uint64_t count = std::min(chunk_rows, rows - first);
    if (c >= 2) GHTIER_CUDA_CHECK(cudaStreamWaitEvent(copy, s.consumed[b].get()));
    if (packed == nullptr) {
      const unsigned char* cols[2] = {s.chunks[b][0].get(), s.chunks[b][1].get()};
      for (std::size_t k = 0; k < ids.size(); ++k) {
        const std::size_t size = value_size(ids[k]);
        GHTIER_CUDA_CHECK(cudaMemcpyAsync(s.chunks[b][k].get(), column(s, ids[k]).host.get() + first * size,
                                          count * size, cudaMemcpyHostToDevice, copy));
      }
      GHTIER_CUDA_CHECK(cudaEventRecord(s.copied[b].get(), copy));
      GHTIER_CUDA_CHECK(cudaStreamWaitEvent(stream, s.copied[b].get()));
      launch_op_kernel(s, op, cols, count, space, stream);
    } else {
      // A chunk of whole packed blocks: its headers (offsets stay absolute) and its words.
      const std::uint64_t first_block = first / bitpack_block_values;
      const std::uint64_t blocks = (count + bitpack_block_values - 1) / bitpack_block_values;
      const std::uint64_t first_word = static_cast<std::uint64_t>(packed->blocks[first_block].offset) * 32;
      const std::uint64_t end_word = first_block + blocks < packed->block_count()
                                         ? static_cast<std::uint64_t>(packed->blocks[first_block + blocks].offset) * 32
                                         : packed->word_count;
      GHTIER_CUDA_CHECK(cudaMemcpyAsync(s.chunks[b][0].get(), packed->blocks + first_block,
                                        blocks * sizeof(BitpackBlockHeader), cudaMemcpyHostToDevice, copy));
      GHTIER_CUDA_CHECK(cudaMemcpyAsync(s.chunks[b][1].get(), packed->words + first_word, (end_word - first_word) * 4,
                                        cudaMemcpyHostToDevice, copy));
      GHTIER_CUDA_CHECK(cudaEventRecord(s.copied[b].get(), copy));
      GHTIER_CUDA_CHECK(cudaStreamWaitEvent(stream, s.copied[b].get()));
      BitpackedColumnView chunk;
      chunk.value_type = packed->value_type;
      chunk.rows = count;
      chunk.blocks = reinterpret_cast<const BitpackBlockHeader*>(s.chunks[b][0].get());
      // The headers' offsets count from the column's first word: shift the base so that they land in
      // this chunk's buffer (only the chunk's own words are ever read).
      chunk.words = reinterpret_cast<const std::uint32_t*>(reinterpret_cast<std::uintptr_t>(s.chunks[b][1].get()) -
                                                           first_word * sizeof(std::uint32_t));
      chunk.word_count = end_word;
      launch_packed(s, op, chunk, space, stream);
    }
    GHTIER_CUDA_CHECK(cudaEventRecord(s.consumed[b].get(), stream));
  }
  finalize_results(s, space, op, stream);
}

/// Holds the stream with the blocker for as long as it lives (so that an error never leaves a spin).
class BlockedStream {
 public:
  BlockedStream(StreamBlocker& blocker, cudaStream_t stream) : blocker_(blocker) { blocker_.block(stream); }
  ~BlockedStream() { blocker_.release(); }
  BlockedStream(const BlockedStream&) = delete;
  BlockedStream& operator=(const BlockedStream&) = delete;

 private:
  StreamBlocker& blocker_;
};

// Bytes the op reads (link bytes for direct and copy_then_compute) and its logical bytes.
std::pair<double, double> op_bytes(Shared& s, Op op) {
  const double rows = static_cast<double>(s.config.rows);
  if (is_packed(op)) return {static_cast<double>(packed_column(s).packed_bytes()), rows * 4};
  double bytes = 0;
  for (ColumnId id : columns_of(op)) bytes += rows * static_cast<double>(value_size(id));
  return {bytes, bytes};
}

Outcome reference_outcome(Shared& s, Op op) {
  static std::mutex mutex;
  static std::map<std::pair<std::uint64_t, Op>, Outcome> cache;
  std::lock_guard lock(mutex);
  const auto key = std::make_pair(s.config.rows, op);
  auto found = cache.find(key);
  if (found != cache.end()) return found->second;
  return cache.emplace(key, run_cpu(s, op)).first->second;
}

void run_case(benchmark::State& state, const BenchOptions& options, const Config& config, Op op, Method method) {
  try {
    GHTIER_CUDA_CHECK(cudaSetDevice(options.device));
    Shared& s = shared(config);
    cudaStream_t stream = s.stream.get();
    const auto [read_bytes, logical_bytes] = op_bytes(s, op);
    // Make everything the case reads before timing: columns, device copies, tables.
    for (ColumnId id : columns_of(op)) {
      (void)column(s, id);
      if (method == Method::device && !is_packed(op)) (void)device_copy(s, id);
    }
    if (is_packed(op)) (void)(method == Method::device ? packed_device_copy(s) : packed_column(s));
    if (op == Op::join_probe) (void)dim_table(s);
    if (is_packed_probe(op)) (void)small_table(s);
    const Outcome want = reference_outcome(s, is_packed_probe(op) ? Op::packed_probe : op);
    const ResultSpace space = result_space(s, groups_of(op));

    Outcome got;
    auto timed = [&]() -> double {
      if (method == Method::cpu) {
        const auto start = std::chrono::steady_clock::now();
        got = run_cpu(s, op);
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
      EventTimer timer;
      {
        BlockedStream hold(*s.blocker, stream);
        timer.start(stream);
        if (method == Method::copy_then_compute) {
          enqueue_chunked(s, op, space, stream);
        } else {
          enqueue_whole(s, op, method == Method::device, space, stream);
        }
        timer.stop(stream);
      }
      return timer.elapsed_seconds();
    };
    (void)timed();  // warm-up
    Samples samples;
    for (auto _ : state) {
      const double seconds = timed();
      samples.add(seconds);
      state.SetIterationTime(seconds);
    }
    if (method != Method::cpu) got = read_gpu_outcome(s, op);
    if (!same_outcome(got, want, floating_result(op))) {
      throw std::runtime_error(fmt::format("wrong result: count {} sum {} / {}, expected count {} sum {} / {}",
                                           got.count, got.sum_int, got.sum_float, want.count, want.sum_int,
                                           want.sum_float));
    }
    const CaseMemory memory = method == Method::device ? CaseMemory::device
                              : method == Method::cpu  ? CaseMemory::cpu_only
                                                       : CaseMemory::pinned_host;
    const double ceiling =
        report_against_ceiling(state, read_bytes, samples, options.device, direct_access_ceiling(memory, false));
    const double median = samples.median();
    state.counters["rows_per_s"] = median > 0 ? static_cast<double>(s.config.rows) / median : 0;
    if (is_packed(op)) {
      const double logical = median > 0 ? logical_bytes / median * 1e-9 : 0;
      state.counters["logical_GBps"] = logical;
      state.counters["logical_ratio"] = ceiling > 0 ? logical / ceiling : 0;
      state.counters["compression"] = logical_bytes / read_bytes;
      if (method == Method::direct) state.counters["target_logical_ratio"] = target_logical_ratio;
    }
    if (method == Method::direct && !is_packed_probe_variant(op)) {
      state.counters["target_ratio"] = target_ratio;
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void register_analytics(const BenchOptions& options) {
  const Config config = config_for(options);
  for (Op op : {Op::aggregate_int32, Op::aggregate_float64, Op::aggregate_filtered, Op::group_by_64, Op::group_by_4096,
                Op::join_probe, Op::packed_aggregate, Op::packed_probe, Op::packed_probe_warp_synchronous,
                Op::packed_probe_staged_homes}) {
    for (Method method : {Method::direct, Method::copy_then_compute, Method::device, Method::cpu}) {
      // The packed probe's variants only where they show the kernel itself: over the link and from HBM.
      if (is_packed_probe_variant(op) && (method == Method::copy_then_compute || method == Method::cpu)) {
        continue;
      }
      // Sized by the logical bytes the op reads (for packed ops: of the decoded column).
      std::uint64_t logical = 0;
      for (ColumnId id : columns_of(op)) logical += config.rows * value_size(id);
      const std::string name = fmt::format("analytics/{}/{}/{}MiB", method_name(method), op_name(op), logical / Mi);
      benchmark::RegisterBenchmark(name.c_str(),
                                   [=](benchmark::State& state) { run_case(state, options, config, op, method); })
          ->Iterations(config.iterations)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace

GHTIER_BENCH_SUITE("analytics", register_analytics);

}  // namespace ghtier::bench
