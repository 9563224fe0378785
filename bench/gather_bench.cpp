// The "gather" suite: rows gathered by index from a table in pinned CPU memory into GPU memory, as a
// recommender's feature and embedding lookups do. Sweeps the table size (the part of the table the keys
// touch), the row width and the key distribution (uniform, Zipf 0.99), and times, in the same run:
//   plain   ghtier::gather: every requested row read over the link in place;
//   sorted  ghtier::sorted_gather: indices sorted and de-duplicated on the GPU, each distinct row read once,
//           in address order;
//   cached  RowCache::gather: the hottest rows (by the key distribution's ranks, within a budget of GPU
//           memory) served from HBM, the rest read over the link;
//   cpu_then_copy  what a user writes without direct access: a multi-threaded CPU gather into a pinned
//           staging buffer, then one cudaMemcpyAsync to the GPU (wall time of both);
//   cpu     the multi-threaded CPU gather alone, host to host (no GPU involved);
//   cpu_pipelined  CpuGatherPipeline: CPU threads gather into pinned chunks while the copy engine moves the
//           previous ones (wall time, until the last copy is done);
//   auto    gather_auto with the pipeline and the same cache as `cached` offered, timed as the path it ran is
//           (events around the queued work for a GPU path, wall time for the pipeline); `choice` is the
//           path it ran (0 plain, 1 sorted, 2 cached, 3 cpu_pipelined), predicted_GBps what it predicted,
//           call_us the median time until gather_auto returned (its host cost; the GPU paths only queue work).
// The pipeline's cases (and auto's when it ran the pipeline) add where its last timed call went, as shares:
// pipe_keys_share (the stream wait and the keys' copy to the host), pipe_fill_wait_share (the calling thread
// waiting for the threads to fill a chunk: CPU-bound), pipe_slot_wait_share (waiting for a copy to free a
// slot: copy-bound), pipe_threads_busy_share (the threads gathering) and pipe_threads_open_wait_share (the
// threads waiting for a chunk to open).
// GBps counts the bytes that cross the link (plain: every requested row; sorted: each distinct row once;
// cached: the misses; cpu_then_copy: the copy; auto: those of the path it ran); effective_GBps counts the
// requested bytes: compare methods by effective_GBps. The ceiling is
// measured in the same run (measured_ceiling): the SM read rate of pinned memory for the paths that read
// in place, the copy engine's H2D rate for the paths that copy; the CPU-only `cpu` has none. Targets
// (printed as target_ratio, never asserted): 0.8 for plain gathers of rows >= 2 KiB, and of any row while
// the table (the touched part) is at most 256 MiB.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bench_suite.hpp"
#include "core/support/cuda_check.hpp"
#include "gather_keys.hpp"
#include "ghtier/error.hpp"
#include "ghtier/kernels/cpu_gather_pipeline.hpp"
#include "ghtier/kernels/gather.hpp"
#include "ghtier/kernels/gather_auto.hpp"
#include "ghtier/kernels/index_check.hpp"
#include "ghtier/kernels/row_cache.hpp"
#include "ghtier/kernels/sorted_gather.hpp"
#include "host_gather_pool.hpp"
#include "link_ceilings.hpp"

namespace ghtier::bench {

namespace {

constexpr std::size_t KiB = std::size_t{1} << 10;
constexpr std::size_t MiB = std::size_t{1} << 20;
constexpr std::size_t GiB = std::size_t{1} << 30;
constexpr double zipf_exponent = 0.99;
constexpr double target_ratio = 0.8;
constexpr std::size_t small_table_bytes = 256 * MiB;   // "the touched part of the table is small"
constexpr std::size_t cache_budget_bytes = 256 * MiB;  // GPU memory a RowCache may use
constexpr std::size_t cache_fraction = 10;             // ... and at most a tenth of the table's rows

enum class Method { plain, sorted, cached, cpu_then_copy, cpu, cpu_pipelined, auto_choice };

const char* method_name(Method m) {
  switch (m) {
    case Method::plain: return "plain";
    case Method::sorted: return "sorted";
    case Method::cached: return "cached";
    case Method::cpu_then_copy: return "cpu_then_copy";
    case Method::cpu: return "cpu";
    case Method::cpu_pipelined: return "cpu_pipelined";
    case Method::auto_choice: return "auto";
  }
  return "unknown";
}

struct Config {
  std::vector<std::size_t> tables;
  std::vector<std::size_t> rows;
  std::size_t batch_bytes;  // requested bytes per gather
  int iterations;
};

Config config_for(const BenchOptions& options) {
  if (options.quick) return {{2 * MiB, 256 * MiB, 8 * GiB}, {64, 128, 1024, 4096}, 32 * MiB, 5};
  return {{2 * MiB, 16 * MiB, 64 * MiB, 256 * MiB, GiB, 2 * GiB, 4 * GiB, 8 * GiB},
          {16, 64, 128, 256, 512, 1024, 2048, 4096},
          64 * MiB,
          10};
}

std::string size_name(std::size_t bytes) {
  if (bytes % GiB == 0) return fmt::format("{}GiB", bytes / GiB);
  if (bytes % MiB == 0) return fmt::format("{}MiB", bytes / MiB);
  return fmt::format("{}KiB", bytes / KiB);
}

struct StreamDestroy {
  void operator()(cudaStream_t s) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(s)); }
};
using Stream = std::unique_ptr<std::remove_pointer_t<cudaStream_t>, StreamDestroy>;

struct HostFree {
  void operator()(void* p) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaFreeHost(p)); }
};
struct DeviceFree {
  void operator()(void* p) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaFree(p)); }
};
using PinnedBytes = std::unique_ptr<unsigned char, HostFree>;
using DeviceBytes = std::unique_ptr<unsigned char, DeviceFree>;

PinnedBytes pinned(std::size_t bytes) {
  void* p = nullptr;
  GHTIER_CUDA_CHECK(cudaHostAlloc(&p, bytes, cudaHostAllocDefault));
  return PinnedBytes(static_cast<unsigned char*>(p));
}
DeviceBytes device_bytes(std::size_t bytes) {
  void* p = nullptr;
  GHTIER_CUDA_CHECK(cudaMalloc(&p, bytes));
  return DeviceBytes(static_cast<unsigned char*>(p));
}

/// What every case shares, allocated on the first case that runs and freed after the run: the largest
/// table once (cudaHostAlloc costs about 0.7 s/GiB), whose prefixes are the smaller tables; the batch's
/// buffers; the CPU threads.
struct Shared {
  std::size_t table_bytes = 0;
  std::size_t batch_bytes = 0;
  PinnedBytes table;
  PinnedBytes staging;                  // cpu_then_copy's pinned buffer
  std::vector<unsigned char> host_out;  // cpu's destination
  DeviceBytes out;
  DeviceBytes indices;
  Stream stream;
  std::unique_ptr<IndexCheck> check;
  std::unique_ptr<StreamBlocker> blocker;
  std::unique_ptr<HostGatherPool> pool;
  std::unique_ptr<CpuGatherPipeline> pipeline;
  // The last case's keys: the five methods of one (keys, row, table) point run back to back and share them.
  KeyDistribution keys_kind = KeyDistribution::uniform;
  std::size_t keys_table_bytes = 0;
  std::size_t keys_row_bytes = 0;
  std::vector<std::int64_t> keys;
};

const std::vector<std::int64_t>& keys_for(Shared& s, KeyDistribution kind, std::size_t table_bytes,
                                          std::size_t row_bytes, std::size_t count) {
  if (s.keys.size() != count || s.keys_kind != kind || s.keys_table_bytes != table_bytes ||
      s.keys_row_bytes != row_bytes) {
    std::mt19937_64 rng(0x5eed + table_bytes + row_bytes);
    s.keys = make_keys(kind, count, table_bytes / row_bytes, zipf_exponent, rng);
    s.keys_kind = kind;
    s.keys_table_bytes = table_bytes;
    s.keys_row_bytes = row_bytes;
  }
  return s.keys;
}

Shared& shared(const Config& config) {
  static std::mutex mutex;
  static std::unique_ptr<Shared> instance;
  std::lock_guard lock(mutex);
  if (!instance) {
    auto s = std::make_unique<Shared>();
    s->table_bytes = *std::max_element(config.tables.begin(), config.tables.end());
    s->batch_bytes = config.batch_bytes;
    s->table = pinned(s->table_bytes);
    // Touch the table from the CPU in parallel, so that every page exists before the first case.
    {
      std::vector<std::thread> touch;
      const unsigned n = std::max(1u, std::thread::hardware_concurrency());
      for (unsigned t = 0; t < n; ++t) {
        touch.emplace_back([&, t] {
          const std::size_t begin = s->table_bytes * t / n;
          const std::size_t end = s->table_bytes * (t + 1) / n;
          for (std::size_t b = begin; b < end; b += 4096) s->table.get()[b] = static_cast<unsigned char>(b >> 12);
        });
      }
      for (auto& t : touch) t.join();
    }
    s->staging = pinned(s->batch_bytes);
    s->host_out.assign(s->batch_bytes, 0);
    s->out = device_bytes(s->batch_bytes);
    s->indices = device_bytes(s->batch_bytes / 16 * sizeof(std::int64_t));  // rows are at least 16 B
    cudaStream_t raw = nullptr;
    GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&raw, cudaStreamNonBlocking));
    s->stream = Stream(raw);
    s->check = std::make_unique<IndexCheck>();
    s->blocker = std::make_unique<StreamBlocker>();
    s->pool = std::make_unique<HostGatherPool>(std::min(16u, std::max(1u, std::thread::hardware_concurrency())));
    s->pipeline = std::make_unique<CpuGatherPipeline>();
    instance = std::move(s);
    on_suite_cleanup([] {
      std::lock_guard inner(mutex);
      instance.reset();
    });
  }
  return *instance;
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

double wall_seconds(const auto& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void run_case(benchmark::State& state, const BenchOptions& options, const Config& config, Method method,
              KeyDistribution keys_kind, std::size_t table_bytes, std::size_t row_bytes) {
  try {
    GHTIER_CUDA_CHECK(cudaSetDevice(options.device));
    Shared& s = shared(config);
    cudaStream_t stream = s.stream.get();
    const std::size_t num_rows = table_bytes / row_bytes;
    const std::size_t count = config.batch_bytes / row_bytes;
    const std::vector<std::int64_t>& keys = keys_for(s, keys_kind, table_bytes, row_bytes, count);
    GHTIER_CUDA_CHECK(cudaMemcpy(s.indices.get(), keys.data(), count * sizeof(std::int64_t), cudaMemcpyHostToDevice));
    // From pageable memory cudaMemcpy returns once staged; the gathers read the keys on a non-blocking stream.
    GHTIER_CUDA_CHECK(cudaDeviceSynchronize());
    const auto* d_keys = reinterpret_cast<const std::int64_t*>(s.indices.get());
    const double requested = static_cast<double>(count * row_bytes);
    double link_bytes = requested;

    std::optional<RowCache> cache;
    std::size_t hits = 0;  // keys that the cache holds (cached and auto)
    if (method == Method::cached || method == Method::auto_choice) {
      const std::size_t capacity = std::min(num_rows / cache_fraction, cache_budget_bytes / row_bytes);
      // The hottest ranks of the Zipf distribution (for uniform keys the same rows: no better choice exists).
      cache.emplace(s.table.get(), row_bytes, num_rows, zipf_hot_rows(capacity, num_rows), stream);
      hits = count_in(keys, std::vector<std::int64_t>(cache->hot_rows().begin(), cache->hot_rows().end()));
      if (method == Method::cached) link_bytes = static_cast<double>((count - hits) * row_bytes);
      state.counters["hit_rate"] = static_cast<double>(hits) / static_cast<double>(count);
      state.counters["cached_rows"] = static_cast<double>(cache->cached_rows());
    } else if (method == Method::sorted) {
      const std::size_t distinct = distinct_count(keys);
      link_bytes = static_cast<double>(distinct * row_bytes);
      state.counters["distinct_fraction"] = static_cast<double>(distinct) / static_cast<double>(count);
    }

    // One gather, queued on the stream (GPU methods) or done on the CPU (returns its wall time).
    auto gpu_gather = [&] {
      switch (method) {
        case Method::plain:
          gather(s.table.get(), row_bytes, num_rows, d_keys, count, s.out.get(), stream, s.check.get());
          break;
        case Method::sorted:
          sorted_gather(s.table.get(), row_bytes, num_rows, d_keys, count, s.out.get(), stream, s.check.get());
          break;
        case Method::cached: cache->gather(d_keys, count, s.out.get(), stream, s.check.get()); break;
        default: break;
      }
    };
    GatherChoice choice;
    bool choice_known = false;
    Samples call_seconds;  // auto: until gather_auto returns (its host cost: the choice, the launch)
    auto timed = [&]() -> double {
      if (method == Method::cpu_pipelined) {
        return wall_seconds([&] {
          s.pipeline->gather(s.table.get(), row_bytes, num_rows, d_keys, count, s.out.get(), stream, s.check.get());
          GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
        });
      }
      if (method == Method::auto_choice) {
        GatherAutoOptions options;
        options.keys = keys_kind == KeyDistribution::zipf ? KeyDistributionHint::skewed : KeyDistributionHint::uniform;
        options.cache = &*cache;
        options.pipeline = s.pipeline.get();
        options.check = s.check.get();
        auto call = [&] {
          call_seconds.add(wall_seconds([&] {
            choice = gather_auto(s.table.get(), row_bytes, num_rows, d_keys, count, s.out.get(), stream, options);
          }));
        };
        // Timed as the path it runs is timed, so that auto / best compares like with like: a GPU path with
        // events around the queued work (its host cost is call_us), the pipeline by wall time. The first
        // (warm-up) call finds the path; the choice is the same for every call of a case.
        if (!choice_known || choice.path == GatherPath::cpu_pipelined) {
          const double seconds = wall_seconds([&] {
            call();
            GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
          });
          choice_known = true;
          return seconds;
        }
        EventTimer timer;
        {
          BlockedStream hold(*s.blocker, stream);
          timer.start(stream);
          call();
          timer.stop(stream);
        }
        return timer.elapsed_seconds();
      }
      if (method == Method::cpu) {
        return wall_seconds([&] { s.pool->gather(s.table.get(), row_bytes, keys.data(), count, s.host_out.data()); });
      }
      if (method == Method::cpu_then_copy) {
        return wall_seconds([&] {
          s.pool->gather(s.table.get(), row_bytes, keys.data(), count, s.staging.get());
          GHTIER_CUDA_CHECK(
              cudaMemcpyAsync(s.out.get(), s.staging.get(), count * row_bytes, cudaMemcpyHostToDevice, stream));
          GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
        });
      }
      EventTimer timer;
      {
        BlockedStream hold(*s.blocker, stream);
        timer.start(stream);
        gpu_gather();
        timer.stop(stream);
      }
      return timer.elapsed_seconds();
    };

    (void)timed();  // warm-up: page tables, module load, the cache's fill
    GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
    Samples samples;
    for (auto _ : state) {
      const double seconds = timed();
      samples.add(seconds);
      state.SetIterationTime(seconds);
    }
    GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
    s.check->check(stream);  // every key was in range; a failure here is a bug in the suite
    if (method == Method::auto_choice) {
      // The link carries what the path it ran moves, as for that path's own case: a ratio against the ceiling
      // of requested bytes would flag every sorted or cached choice as faster than the link.
      if (choice.path == GatherPath::sorted) link_bytes = static_cast<double>(distinct_count(keys) * row_bytes);
      if (choice.path == GatherPath::cached) link_bytes = static_cast<double>((count - hits) * row_bytes);
    }
    // Which link the bytes crossed: read in place (SM), copied (copy engine), or none (the CPU alone).
    const bool copied = method == Method::cpu_then_copy || method == Method::cpu_pipelined ||
                        (method == Method::auto_choice && choice.path == GatherPath::cpu_pipelined);
    report_against_ceiling(state, link_bytes, samples, options.device,
                           method == Method::cpu ? std::nullopt
                           : copied              ? std::optional(copy_ceiling(true))
                                                 : direct_access_ceiling(CaseMemory::pinned_host, false));
    const double median = samples.median();
    state.counters["effective_GBps"] = median > 0 ? requested / median * 1e-9 : 0;
    state.counters["rows_per_s"] = median > 0 ? static_cast<double>(count) / median : 0;
    if (method == Method::auto_choice) {
      state.counters["choice"] = static_cast<double>(choice.path);
      state.counters["predicted_GBps"] = choice.predicted_gbps();
      state.counters["call_us"] = call_seconds.median() * 1e6;
      state.SetLabel(std::string(to_string(choice.path)));
    }
    if (method == Method::cpu_pipelined ||
        (method == Method::auto_choice && choice.path == GatherPath::cpu_pipelined)) {
      // Where the pipeline's last timed call waited (shares of its time): the threads or the copies.
      const CpuGatherPipeline::CallStatistics call = s.pipeline->last_call();
      if (call.seconds > 0 && call.threads > 0) {
        const double thread_seconds = call.seconds * call.threads;
        state.counters["pipe_keys_share"] = call.keys_seconds / call.seconds;
        state.counters["pipe_fill_wait_share"] = call.fill_wait_seconds / call.seconds;
        state.counters["pipe_slot_wait_share"] = call.slot_wait_seconds / call.seconds;
        state.counters["pipe_threads_busy_share"] = call.gather_seconds / thread_seconds;
        state.counters["pipe_threads_open_wait_share"] = call.open_wait_seconds / thread_seconds;
      }
    }
    if (method == Method::plain && (row_bytes >= 2 * KiB || table_bytes <= small_table_bytes)) {
      state.counters["target_ratio"] = target_ratio;
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void register_gather(const BenchOptions& options) {
  const Config config = config_for(options);
  for (std::size_t table_bytes : config.tables) {
    for (std::size_t row_bytes : config.rows) {
      for (KeyDistribution keys : {KeyDistribution::uniform, KeyDistribution::zipf}) {
        for (Method method : {Method::plain, Method::sorted, Method::cached, Method::cpu_then_copy, Method::cpu,
                              Method::cpu_pipelined, Method::auto_choice}) {
          const std::string name =
              fmt::format("gather/{}/{}_{}B/{}", method_name(method),
                          keys == KeyDistribution::uniform ? "uniform" : "zipf", row_bytes, size_name(table_bytes));
          benchmark::RegisterBenchmark(
              name.c_str(),
              [=](benchmark::State& state) { run_case(state, options, config, method, keys, table_bytes, row_bytes); })
              ->Iterations(config.iterations)
              ->UseManualTime()
              ->Unit(benchmark::kMillisecond);
        }
      }
    }
  }
}

}  // namespace

GHTIER_BENCH_SUITE("gather", register_gather);

}  // namespace ghtier::bench
