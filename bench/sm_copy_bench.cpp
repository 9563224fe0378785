// The "sm_copy" suite: ghtier::sm_copy and sm_copy_2d beside the raw CUDA way (cudaMemcpyAsync and
// cudaMemcpy2DAsync on a copy engine) in the same run, pinned host <-> device, aligned and misaligned, plus
// what prefer_sm_copy would pick for each size (counter model_prefers_sm: 1 = SM copy), so that the cost
// model can be checked against the measurement. Ceilings: the calibrated link of this run: sm_read_gbps
// (host -> device) or sm_write_gbps (device -> host) for the SM copies, h2d_gbps / d2h_gbps for the copy
// engine. Small copies are queued several per iteration (up to 32, each at its own offset).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_suite.hpp"
#include "core/support/cuda_check.hpp"
#include "ghtier/error.hpp"
#include "ghtier/kernels/sm_copy.hpp"
#include "link_ceilings.hpp"

namespace ghtier::bench {

namespace {

constexpr std::size_t KiB = std::size_t{1} << 10;
constexpr std::size_t MiB = std::size_t{1} << 20;
constexpr std::size_t GiB = std::size_t{1} << 30;
constexpr std::size_t misalignment = 3;  // bytes added to the host pointer in the misaligned cases
constexpr int max_copies_per_iteration = 32;

std::string size_name(std::size_t bytes) {
  if (bytes >= GiB && bytes % GiB == 0) return fmt::format("{}GiB", bytes / GiB);
  if (bytes >= MiB && bytes % MiB == 0) return fmt::format("{}MiB", bytes / MiB);
  return fmt::format("{}KiB", bytes / KiB);
}

struct HostFree {
  void operator()(void* p) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaFreeHost(p)); }
};
struct DeviceFree {
  void operator()(void* p) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaFree(p)); }
};
struct StreamDestroy {
  void operator()(cudaStream_t s) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(s)); }
};

/// Buffers shared by every case: pinned and device, each `bytes` plus room for the misalignment.
struct Buffers {
  std::size_t bytes = 0;
  std::unique_ptr<unsigned char, HostFree> host;
  std::unique_ptr<unsigned char, DeviceFree> device;
  std::unique_ptr<std::remove_pointer_t<cudaStream_t>, StreamDestroy> stream;
  std::unique_ptr<StreamBlocker> blocker;
};

Buffers& buffers(std::size_t bytes) {
  static std::mutex mutex;
  static std::unique_ptr<Buffers> instance;
  std::lock_guard lock(mutex);
  if (!instance || instance->bytes < bytes) {
    instance.reset();
    auto b = std::make_unique<Buffers>();
    b->bytes = bytes;
    void* p = nullptr;
    GHTIER_CUDA_CHECK(cudaHostAlloc(&p, bytes + 64, cudaHostAllocDefault));
    b->host.reset(static_cast<unsigned char*>(p));
    GHTIER_CUDA_CHECK(cudaMalloc(&p, bytes + 64));
    b->device.reset(static_cast<unsigned char*>(p));
    cudaStream_t s = nullptr;
    GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    b->stream.reset(s);
    b->blocker = std::make_unique<StreamBlocker>();
    instance = std::move(b);
    static bool registered = false;
    if (!registered) {
      registered = true;
      on_suite_cleanup([] {
        std::lock_guard inner(mutex);
        instance.reset();
      });
    }
  }
  return *instance;
}

enum class Method { sm, memcpy };
enum class Direction { h2d, d2h };

struct Case1D {
  Method method;
  Direction direction;
  bool misaligned;
  std::size_t bytes;
};

struct Case2D {
  Method method;
  std::size_t width;   // bytes per row
  std::size_t height;  // rows
};

class BlockedStream {
 public:
  BlockedStream(StreamBlocker& blocker, cudaStream_t stream) : blocker_(blocker) { blocker_.block(stream); }
  ~BlockedStream() { blocker_.release(); }
  BlockedStream(const BlockedStream&) = delete;
  BlockedStream& operator=(const BlockedStream&) = delete;

 private:
  StreamBlocker& blocker_;
};

template <class Enqueue>
Samples time_iterations(benchmark::State& state, Buffers& b, Enqueue&& enqueue) {
  cudaStream_t stream = b.stream.get();
  EventTimer timer;
  auto once = [&] {
    {
      BlockedStream hold(*b.blocker, stream);
      timer.start(stream);
      enqueue(stream);
      timer.stop(stream);
    }
    return timer.elapsed_seconds();
  };
  (void)once();  // warm-up
  Samples samples;
  for (auto _ : state) {
    const double seconds = once();
    samples.add(seconds);
    state.SetIterationTime(seconds);
  }
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
  return samples;
}

void run_1d(benchmark::State& state, const BenchOptions& options, const Case1D c, std::size_t buffer_bytes) {
  try {
    GHTIER_CUDA_CHECK(cudaSetDevice(options.device));
    const LinkModel& link = bench_platform(options.device).link;
    Buffers& b = buffers(buffer_bytes);
    const int copies = static_cast<int>(std::clamp<std::size_t>(buffer_bytes / c.bytes, 1, max_copies_per_iteration));
    const std::size_t host_offset = c.misaligned ? misalignment : 0;
    const bool h2d = c.direction == Direction::h2d;
    Samples samples = time_iterations(state, b, [&](cudaStream_t stream) {
      for (int i = 0; i < copies; ++i) {
        unsigned char* host = b.host.get() + host_offset + static_cast<std::size_t>(i) * c.bytes;
        unsigned char* device = b.device.get() + static_cast<std::size_t>(i) * c.bytes;
        void* dst = h2d ? static_cast<void*>(device) : static_cast<void*>(host);
        const void* src = h2d ? static_cast<const void*>(host) : static_cast<const void*>(device);
        if (c.method == Method::sm) {
          sm_copy(dst, src, c.bytes, stream);
        } else {
          GHTIER_CUDA_CHECK(
              cudaMemcpyAsync(dst, src, c.bytes, h2d ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost, stream));
        }
      }
    });
    const bool sm = c.method == Method::sm;
    report_against_ceiling(state, static_cast<double>(c.bytes) * copies, samples, options.device,
                           sm ? direct_access_ceiling(CaseMemory::pinned_host, !h2d) : copy_ceiling(h2d));
    state.counters["model_prefers_sm"] = prefer_sm_copy(c.bytes, false, link, h2d) ? 1 : 0;
    state.counters["size_bytes"] = static_cast<double>(c.bytes);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void run_2d(benchmark::State& state, const BenchOptions& options, const Case2D c) {
  try {
    GHTIER_CUDA_CHECK(cudaSetDevice(options.device));
    const LinkModel& link = bench_platform(options.device).link;
    const std::size_t pitch = 2 * c.width;  // every other row-width of the host buffer: a strided source
    Buffers& b = buffers(pitch * c.height);
    Samples samples = time_iterations(state, b, [&](cudaStream_t stream) {
      if (c.method == Method::sm) {
        sm_copy_2d(b.device.get(), c.width, b.host.get(), pitch, c.width, c.height, stream);
      } else {
        GHTIER_CUDA_CHECK(cudaMemcpy2DAsync(b.device.get(), c.width, b.host.get(), pitch, c.width, c.height,
                                            cudaMemcpyHostToDevice, stream));
      }
    });
    const bool sm = c.method == Method::sm;
    report_against_ceiling(state, static_cast<double>(c.width * c.height), samples, options.device,
                           sm ? direct_access_ceiling(CaseMemory::pinned_host, false) : copy_ceiling(true));
    state.counters["model_prefers_sm"] = prefer_sm_copy(c.width * c.height, true, link) ? 1 : 0;
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void register_sm_copy(const BenchOptions& options) {
  const std::vector<std::size_t> sizes = options.quick
                                             ? std::vector<std::size_t>{64 * KiB, MiB, 64 * MiB}
                                             : std::vector<std::size_t>{4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB,
                                                                        4 * MiB, 16 * MiB, 64 * MiB, 256 * MiB};
  const std::size_t buffer_bytes = *std::max_element(sizes.begin(), sizes.end());
  const int iterations = options.quick ? 5 : 10;
  for (Direction direction : {Direction::h2d, Direction::d2h}) {
    for (bool misaligned : {false, true}) {
      for (std::size_t bytes : sizes) {
        for (Method method : {Method::sm, Method::memcpy}) {
          const Case1D c{method, direction, misaligned, bytes};
          const std::string name = fmt::format("sm_copy/{}/{}{}/{}", method == Method::sm ? "sm_copy" : "memcpy",
                                               direction == Direction::h2d ? "pinned_to_device" : "device_to_pinned",
                                               misaligned ? "_misaligned" : "", size_name(bytes));
          benchmark::RegisterBenchmark(name.c_str(),
                                       [=](benchmark::State& state) { run_1d(state, options, c, buffer_bytes); })
              ->Iterations(iterations)
              ->UseManualTime()
              ->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
  const std::size_t total_2d = options.quick ? 16 * MiB : 64 * MiB;
  const std::vector<std::size_t> widths =
      options.quick ? std::vector<std::size_t>{16, 256, 4096} : std::vector<std::size_t>{16, 64, 256, 1024, 4096};
  for (std::size_t width : widths) {
    for (Method method : {Method::sm, Method::memcpy}) {
      const Case2D c{method, width, total_2d / width};
      const std::string name =
          fmt::format("sm_copy/{}/pinned_to_device_rows_{}B/{}", method == Method::sm ? "sm_copy_2d" : "memcpy_2d",
                      width, size_name(total_2d));
      benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) { run_2d(state, options, c); })
          ->Iterations(iterations)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace

GHTIER_BENCH_SUITE("sm_copy", register_sm_copy);

}  // namespace ghtier::bench
