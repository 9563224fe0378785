// The "alloc" suite: what an allocation costs in each mode against the raw CUDA call, and what reserving a
// large pinned pool costs against one cudaHostAlloc (and one cudaHostRegister) of the same size.
//
// Allocation is a host-side cost (the CUDA calls block the calling thread), so these cases time with the
// host's steady clock, not CUDA events; the stream-ordered cases include one stream synchronisation per
// batch. Each case measures its raw CUDA baseline in the same process before its own iterations.
#include <cuda_runtime_api.h>
#include <sys/mman.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "bench_suite.hpp"
#include "core/support/cuda_check.hpp"
#include "ghtier/error.hpp"
#include "ghtier/memory/device_pool_resource.hpp"
#include "ghtier/memory/managed_resource.hpp"
#include "ghtier/memory/pinned_host_pool_resource.hpp"
#include "ghtier/memory/pinned_host_resource.hpp"
#include "ghtier/memory/system_resource.hpp"

namespace ghtier::bench {

namespace {

constexpr std::size_t KiB = std::size_t{1} << 10;
constexpr std::size_t MiB = std::size_t{1} << 20;
constexpr std::size_t GiB = std::size_t{1} << 30;

// Targets from issue 3, printed beside the results (never asserted).
constexpr double pinned_pair_target_speedup = 100.0;  // pooled pinned vs cudaMallocHost+cudaFreeHost at 1 MiB
constexpr double reserve_target_speedup = 5.0;        // pool reserve vs one cudaHostAlloc of the same size

std::string size_name(std::size_t bytes) {
  if (bytes % GiB == 0) return fmt::format("{}GiB", bytes / GiB);
  if (bytes % MiB == 0) return fmt::format("{}MiB", bytes / MiB);
  return fmt::format("{}KiB", bytes / KiB);
}

double seconds_of(const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct StreamDestroy {
  void operator()(cudaStream_t s) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(s)); }
};
using Stream = std::unique_ptr<std::remove_pointer_t<cudaStream_t>, StreamDestroy>;
Stream make_stream() {
  cudaStream_t s = nullptr;
  GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return Stream(s);
}

// ---- allocate + free pairs ---------------------------------------------------------------------------

/// One mode's pair: the ghtier way and the raw CUDA way, each allocating and freeing `bytes` once.
struct PairMode {
  const char* name;           // case name part
  const char* baseline_name;  // what the raw pair is
  // Builds the ghtier resource (untimed).
  std::function<std::unique_ptr<MemoryResource>(int device)> make_resource;
  bool stream_ordered = false;
  // The raw pair; `stream` is the batch's stream for the stream-ordered one.
  std::function<void(std::size_t bytes, cudaStream_t stream)> raw_pair;
};

std::vector<PairMode> pair_modes() {
  std::vector<PairMode> modes;
  modes.push_back({"device", "cudaMalloc+cudaFree",
                   [](int device) { return std::make_unique<DevicePoolResource>(DevicePoolOptions{.device = device}); },
                   false,
                   [](std::size_t bytes, cudaStream_t) {
                     void* p = nullptr;
                     GHTIER_CUDA_CHECK(cudaMalloc(&p, bytes));
                     GHTIER_CUDA_CHECK(cudaFree(p));
                   }});
  modes.push_back({"device_async", "cudaMallocAsync+cudaFreeAsync",
                   [](int device) { return std::make_unique<DevicePoolResource>(DevicePoolOptions{.device = device}); },
                   true,
                   [](std::size_t bytes, cudaStream_t stream) {
                     void* p = nullptr;
                     GHTIER_CUDA_CHECK(cudaMallocAsync(&p, bytes, stream));
                     GHTIER_CUDA_CHECK(cudaFreeAsync(p, stream));
                   }});
  modes.push_back({"pinned", "cudaMallocHost+cudaFreeHost",
                   [](int device) { return std::make_unique<PinnedHostResource>(PinnedHostOptions{.device = device}); },
                   false,
                   [](std::size_t bytes, cudaStream_t) {
                     void* p = nullptr;
                     GHTIER_CUDA_CHECK(cudaMallocHost(&p, bytes));
                     GHTIER_CUDA_CHECK(cudaFreeHost(p));
                   }});
  modes.push_back(
      {"pinned_cuda_pool", "cudaMallocHost+cudaFreeHost",
       [](int device) { return std::make_unique<PinnedHostPoolResource>(PinnedHostPoolOptions{.device = device}); },
       false,
       [](std::size_t bytes, cudaStream_t) {
         void* p = nullptr;
         GHTIER_CUDA_CHECK(cudaMallocHost(&p, bytes));
         GHTIER_CUDA_CHECK(cudaFreeHost(p));
       }});
  modes.push_back({"managed", "cudaMallocManaged+cudaFree",
                   [](int device) { return std::make_unique<ManagedResource>(ManagedOptions{.device = device}); },
                   false,
                   [](std::size_t bytes, cudaStream_t) {
                     void* p = nullptr;
                     GHTIER_CUDA_CHECK(cudaMallocManaged(&p, bytes, cudaMemAttachGlobal));
                     GHTIER_CUDA_CHECK(cudaFree(p));
                   }});
  modes.push_back({"system", "malloc+free", [](int) { return std::make_unique<SystemResource>(); }, false,
                   [](std::size_t bytes, cudaStream_t) {
                     void* p = std::malloc(bytes);
                     if (p == nullptr) throw OutOfMemoryError("malloc failed");
                     benchmark::DoNotOptimize(p);
                     std::free(p);
                   }});
  return modes;
}

int pairs_per_batch(std::size_t bytes, bool quick) {
  if (bytes >= 64 * MiB) return quick ? 4 : 8;
  return quick ? 32 : 64;
}

/// Seconds per pair of one batch of `pairs` pairs (plus, stream-ordered, one synchronisation).
double time_batch(int pairs, cudaStream_t stream, const std::function<void()>& pair) {
  const double seconds = seconds_of([&] {
    for (int i = 0; i < pairs; ++i) pair();
    if (stream != nullptr) GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
  });
  return seconds / pairs;
}

void run_pair_case(benchmark::State& state, const PairMode& mode, std::size_t bytes, const BenchOptions& options) {
  const int iterations = static_cast<int>(state.max_iterations);
  const int pairs = pairs_per_batch(bytes, options.quick);
  std::unique_ptr<MemoryResource> resource;
  Stream stream;
  double baseline_us = 0;
  std::function<void()> ghtier_pair;
  try {
    GHTIER_CUDA_CHECK(cudaSetDevice(options.device));
    GHTIER_CUDA_CHECK(cudaFree(nullptr));  // the context exists before anything is timed
    if (mode.stream_ordered) stream = make_stream();
    cudaStream_t s = stream.get();
    // The raw baseline first, in this process: warm-up pair, then the same number of batches.
    mode.raw_pair(bytes, s);
    if (s != nullptr) GHTIER_CUDA_CHECK(cudaStreamSynchronize(s));
    Samples raw;
    for (int i = 0; i < iterations; ++i) raw.add(time_batch(pairs, s, [&] { mode.raw_pair(bytes, s); }));
    baseline_us = raw.median() * 1e6;

    resource = mode.make_resource(options.device);
    MemoryResource& r = *resource;
    if (mode.stream_ordered) {
      ghtier_pair = [&r, bytes, s] {
        r.deallocate_async(r.allocate_async(bytes, default_alignment, s), bytes, default_alignment, s);
      };
    } else {
      ghtier_pair = [&r, bytes] { r.deallocate(r.allocate(bytes), bytes); };
    }
    (void)time_batch(1, s, ghtier_pair);  // warm-up: a pool's first allocation maps its memory
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  Samples samples;
  for (auto _ : state) {
    try {
      const double per_pair = time_batch(pairs, stream.get(), ghtier_pair);
      state.SetIterationTime(per_pair * pairs);
      samples.add(per_pair);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      break;
    }
  }
  if (state.error_occurred()) return;
  report_latency(state, samples, baseline_us, std::string(mode.baseline_name) + " (raw, this run)");
  const double us = samples.median() * 1e6;
  state.counters["speedup"] = us > 0 ? baseline_us / us : 0;
  state.counters["size_bytes"] = static_cast<double>(bytes);
  if (std::string(mode.name) == "pinned" && bytes == MiB) {
    state.counters["target_speedup"] = pinned_pair_target_speedup;
  }
}

// ---- reserving pinned memory -------------------------------------------------------------------------

/// Seconds of one cudaHostAlloc of `bytes` (the free is not timed). Measured once per size and process,
/// as the baseline of every reserve case: at 16 GiB one call takes about 11 s.
double host_alloc_seconds(std::size_t bytes, int iterations) {
  static std::mutex mutex;
  static std::map<std::size_t, double> cache;
  std::lock_guard lock(mutex);
  if (const auto it = cache.find(bytes); it != cache.end()) return it->second;
  Samples samples;
  for (int i = 0; i < iterations; ++i) {
    void* p = nullptr;
    samples.add(seconds_of([&] { GHTIER_CUDA_CHECK(cudaHostAlloc(&p, bytes, cudaHostAllocDefault)); }));
    GHTIER_CUDA_CHECK(cudaFreeHost(p));
  }
  return cache[bytes] = samples.median();
}

/// Maps `bytes` of untouched anonymous memory (untimed) and times one cudaHostRegister of it.
double register_untouched_seconds(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw OutOfMemoryError(fmt::format("mmap of {} bytes failed", bytes));
  double seconds = 0;
  try {
    seconds = seconds_of([&] { GHTIER_CUDA_CHECK(cudaHostRegister(p, bytes, cudaHostRegisterDefault)); });
    GHTIER_CUDA_CHECK(cudaHostUnregister(p));
  } catch (...) {
    munmap(p, bytes);
    throw;
  }
  munmap(p, bytes);
  return seconds;
}

/// Constructing a pinned pool of type Pool and reserving `bytes` (its destruction is not timed).
template <typename Pool, typename Options>
double pool_reserve_seconds(std::size_t bytes, int device) {
  std::unique_ptr<Pool> pool;
  const double seconds = seconds_of([&] {
    pool = std::make_unique<Pool>(Options{.device = device});
    pool->reserve(bytes);
  });
  pool.reset();
  return seconds;
}

enum class ReserveMethod { pinned_pool, pinned_cuda_pool, host_register_untouched };

const char* reserve_method_name(ReserveMethod method) {
  switch (method) {
    case ReserveMethod::pinned_pool: return "pinned_pool";
    case ReserveMethod::pinned_cuda_pool: return "pinned_cuda_pool";
    case ReserveMethod::host_register_untouched: return "host_register_untouched";
  }
  return "unknown";
}

void run_reserve_case(benchmark::State& state, ReserveMethod method, std::size_t bytes, const BenchOptions& options) {
  double baseline_s = 0;
  try {
    GHTIER_CUDA_CHECK(cudaSetDevice(options.device));
    GHTIER_CUDA_CHECK(cudaFree(nullptr));
    baseline_s = host_alloc_seconds(bytes, static_cast<int>(state.max_iterations));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  Samples samples;
  for (auto _ : state) {
    try {
      double seconds = 0;
      switch (method) {
        case ReserveMethod::pinned_pool:
          seconds = pool_reserve_seconds<PinnedHostResource, PinnedHostOptions>(bytes, options.device);
          break;
        case ReserveMethod::pinned_cuda_pool:
          seconds = pool_reserve_seconds<PinnedHostPoolResource, PinnedHostPoolOptions>(bytes, options.device);
          break;
        case ReserveMethod::host_register_untouched: seconds = register_untouched_seconds(bytes); break;
      }
      state.SetIterationTime(seconds);
      samples.add(seconds);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      break;
    }
  }
  if (state.error_occurred()) return;
  report_latency(state, samples, baseline_s * 1e6, "one cudaHostAlloc of the same size (raw, this run)");
  const double s = samples.median();
  state.counters["speedup"] = s > 0 ? baseline_s / s : 0;
  state.counters["size_bytes"] = static_cast<double>(bytes);
  state.counters["GBps"] = s > 0 ? static_cast<double>(bytes) / s * 1e-9 : 0;  // bytes pinned per second
  if (method == ReserveMethod::pinned_pool) state.counters["target_speedup"] = reserve_target_speedup;
}

void register_alloc(const BenchOptions& options) {
  const int pair_iterations = options.quick ? 5 : 15;
  for (const PairMode& mode : pair_modes()) {
    for (std::size_t bytes : {4 * KiB, MiB, 64 * MiB}) {
      const std::string name = fmt::format("alloc/alloc_free/{}/{}", mode.name, size_name(bytes));
      benchmark::RegisterBenchmark(
          name.c_str(), [mode, bytes, options](benchmark::State& state) { run_pair_case(state, mode, bytes, options); })
          ->Iterations(pair_iterations)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  // 16 GiB as in docs/benchmarks.md (cudaHostAlloc alone takes ~11 s there, so one iteration); 2 GiB for --quick.
  const std::size_t reserve_bytes = options.quick ? 2 * GiB : 16 * GiB;
  const int reserve_iterations = options.quick ? 3 : 1;
  for (ReserveMethod method :
       {ReserveMethod::pinned_pool, ReserveMethod::pinned_cuda_pool, ReserveMethod::host_register_untouched}) {
    const std::string name = fmt::format("alloc/reserve/{}/{}", reserve_method_name(method), size_name(reserve_bytes));
    benchmark::RegisterBenchmark(name.c_str(),
                                 [method, reserve_bytes, options](benchmark::State& state) {
                                   run_reserve_case(state, method, reserve_bytes, options);
                                 })
        ->Iterations(reserve_iterations)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

GHTIER_BENCH_SUITE("alloc", register_alloc);

}  // namespace ghtier::bench
