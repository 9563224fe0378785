// The "bandwidth_matrix" suite: the ceilings that every later benchmark is compared with. For each ordered
// pair of {device, pinned, pageable, managed}: cudaMemcpyAsync, a 16-byte-load SM copy kernel where the GPU
// reaches both sides, cudaMemPrefetchAsync of managed memory, both directions at once, and small-copy
// latency; timed with CUDA events, median of repeats, behind a StreamBlocker where the copies are async.
// Case list, names and ceilings: matrix_cases.cpp. Ratios are against link figures measured in this run next to
// the case (measured_ceiling: the link probe, re-measured every few cases), never a profile of another card.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <memory>
#include <type_traits>
#include <vector>

#include "bench_suite.hpp"
#include "core/support/cuda_check.hpp"
#include "ghtier/error.hpp"
#include "ghtier/platform/platform.hpp"
#include "matrix_buffers.hpp"
#include "matrix_cases.hpp"

namespace ghtier::bench {

namespace {

// Each thread moves four 16-byte words per round, so that enough loads are in flight to fill a
// zero-copy link (PCIe or C2C) as well as HBM.
__global__ void copy_16_byte_words(const uint4* __restrict__ src, uint4* __restrict__ dst, std::size_t words) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i + 3 * stride < words; i += 4 * stride) {
    const uint4 a = src[i];
    const uint4 b = src[i + stride];
    const uint4 c = src[i + 2 * stride];
    const uint4 d = src[i + 3 * stride];
    dst[i] = a;
    dst[i + stride] = b;
    dst[i + 2 * stride] = c;
    dst[i + 3 * stride] = d;
  }
  for (; i < words; i += stride) dst[i] = src[i];
}

void launch_copy(const char* src, char* dst, std::size_t bytes, unsigned max_blocks, cudaStream_t stream) {
  constexpr unsigned threads = 256;
  const std::size_t words = bytes / sizeof(uint4);
  const std::size_t needed = (words + threads - 1) / threads;
  const unsigned blocks = static_cast<unsigned>(std::max<std::size_t>(1, std::min<std::size_t>(needed, max_blocks)));
  copy_16_byte_words<<<blocks, threads, 0, stream>>>(reinterpret_cast<const uint4*>(src), reinterpret_cast<uint4*>(dst),
                                                     words);
  GHTIER_CUDA_CHECK_LAUNCH("copy_16_byte_words");
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

struct EventDestroy {
  void operator()(cudaEvent_t e) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(e)); }
};
using Event = std::unique_ptr<std::remove_pointer_t<cudaEvent_t>, EventDestroy>;
Event make_sync_event() {
  cudaEvent_t e = nullptr;
  GHTIER_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  return Event(e);
}

// Explicit directions where both sides are plain memory; managed memory is left to the driver
// (cudaMemcpyDefault), which knows where its pages are.
cudaMemcpyKind copy_kind(MatrixTier from, MatrixTier to) {
  if (from == MatrixTier::managed || to == MatrixTier::managed) return cudaMemcpyDefault;
  const bool from_device = from == MatrixTier::device;
  const bool to_device = to == MatrixTier::device;
  if (from_device) return to_device ? cudaMemcpyDeviceToDevice : cudaMemcpyDeviceToHost;
  return to_device ? cudaMemcpyHostToDevice : cudaMemcpyHostToHost;
}

void prefetch(const char* p, std::size_t bytes, bool to_device, int device, cudaStream_t stream) {
  cudaMemLocation location{};
  location.type = to_device ? cudaMemLocationTypeDevice : cudaMemLocationTypeHost;
  location.id = to_device ? device : 0;  // ignored for the host
  GHTIER_CUDA_CHECK(cudaMemPrefetchAsync(p, bytes, location, 0, stream));
}

// Releases a blocked stream however the iteration ends, so that an error never leaves a kernel spinning.
class BlockedStream {
 public:
  BlockedStream(StreamBlocker* blocker, cudaStream_t stream) : blocker_(blocker) {
    if (blocker_ != nullptr) blocker_->block(stream);
  }
  ~BlockedStream() {
    if (blocker_ != nullptr) blocker_->release();
  }
  BlockedStream(const BlockedStream&) = delete;
  BlockedStream& operator=(const BlockedStream&) = delete;

 private:
  StreamBlocker* blocker_;
};

// Everything one case needs, set up once before its warm-up.
class MatrixCaseRunner {
 public:
  MatrixCaseRunner(const MatrixCase& c, const BenchOptions& options)
      : case_(c),
        device_(options.device),
        transfers_(transfers_per_iteration(c.bytes)),
        buffers_(matrix_buffers(options.device, matrix_buffer_bytes(options.quick))),
        stream_(make_stream()) {
    if (c.bytes % sizeof(uint4) != 0 || static_cast<std::size_t>(transfers_) * c.bytes > buffers_.bytes()) {
      throw_error(ErrorCode::internal, "bandwidth_matrix: case size does not fit the shared buffers");
    }
    int sm_count = 0;
    GHTIER_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, device_));
    max_blocks_ = static_cast<unsigned>(sm_count) * 8;  // 8 blocks of 256 threads fill an SM
    switch (c.method) {
      case MatrixMethod::prefetch: {
        const MatrixTier tier = c.from == MatrixTier::device ? c.to : c.from;
        src_ = dst_ = buffers_.buffer(tier, 0);
        break;
      }
      case MatrixMethod::bidirectional:
        src_ = buffers_.buffer(MatrixTier::pinned, 0);
        dst_ = buffers_.buffer(MatrixTier::device, 0);
        back_src_ = buffers_.buffer(MatrixTier::device, 1);
        back_dst_ = buffers_.buffer(MatrixTier::pinned, 1);
        second_stream_ = make_stream();
        fork_ = make_sync_event();
        join_ = make_sync_event();
        break;
      default:
        src_ = buffers_.buffer(c.from, 0);
        dst_ = buffers_.buffer(c.to, c.from == c.to ? 1 : 0);
        break;
    }
    if (uses_stream_blocker(c)) blocker_ = std::make_unique<StreamBlocker>();
  }

  /// Seconds of one timed batch of transfers_ transfers.
  double timed_batch() {
    prepare();
    {
      BlockedStream hold(blocker_.get(), stream_.get());
      timer_.start(stream_.get());
      enqueue();
      timer_.stop(stream_.get());
    }  // released: the queued batch runs now, back to back
    const double seconds = timer_.elapsed_seconds();
    GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream_.get()));
    return seconds;
  }

  [[nodiscard]] int transfers() const noexcept { return transfers_; }

 private:
  [[nodiscard]] std::size_t span() const noexcept { return static_cast<std::size_t>(transfers_) * case_.bytes; }

  // Untimed: put managed (and prefetched pageable) pages where the case says they start.
  void prepare() {
    bool waited = false;
    if (case_.method == MatrixMethod::prefetch) {
      // The pages start on the side they are prefetched away from.
      prefetch(src_, span(), case_.to != MatrixTier::device, device_, stream_.get());
      waited = true;
    } else if (case_.method == MatrixMethod::memcpy || case_.method == MatrixMethod::sm_copy) {
      // Managed memory is the host-resident tier here: earlier iterations may have migrated it.
      if (case_.from == MatrixTier::managed) {
        prefetch(src_, span(), false, device_, stream_.get());
        waited = true;
      }
      if (case_.to == MatrixTier::managed) {
        prefetch(dst_, span(), false, device_, stream_.get());
        waited = true;
      }
    }
    if (waited) GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream_.get()));
  }

  void enqueue() {
    cudaStream_t s = stream_.get();
    switch (case_.method) {
      case MatrixMethod::memcpy:
      case MatrixMethod::latency: {
        const cudaMemcpyKind kind = copy_kind(case_.from, case_.to);
        for (int i = 0; i < transfers_; ++i) {
          const std::size_t offset = static_cast<std::size_t>(i) * case_.bytes;
          GHTIER_CUDA_CHECK(cudaMemcpyAsync(dst_ + offset, src_ + offset, case_.bytes, kind, s));
        }
        break;
      }
      case MatrixMethod::sm_copy:
        for (int i = 0; i < transfers_; ++i) {
          const std::size_t offset = static_cast<std::size_t>(i) * case_.bytes;
          launch_copy(src_ + offset, dst_ + offset, case_.bytes, max_blocks_, s);
        }
        break;
      case MatrixMethod::prefetch:
        for (int i = 0; i < transfers_; ++i) {
          const std::size_t offset = static_cast<std::size_t>(i) * case_.bytes;
          prefetch(src_ + offset, case_.bytes, case_.to == MatrixTier::device, device_, s);
        }
        break;
      case MatrixMethod::bidirectional: {
        // The second stream joins the held one and rejoins it, so both wait for the blocker and the
        // stop event waits for both directions.
        cudaStream_t back = second_stream_.get();
        GHTIER_CUDA_CHECK(cudaEventRecord(fork_.get(), s));
        GHTIER_CUDA_CHECK(cudaStreamWaitEvent(back, fork_.get(), 0));
        for (int i = 0; i < transfers_; ++i) {
          const std::size_t offset = static_cast<std::size_t>(i) * case_.bytes;
          GHTIER_CUDA_CHECK(cudaMemcpyAsync(dst_ + offset, src_ + offset, case_.bytes, cudaMemcpyHostToDevice, s));
          GHTIER_CUDA_CHECK(
              cudaMemcpyAsync(back_dst_ + offset, back_src_ + offset, case_.bytes, cudaMemcpyDeviceToHost, back));
        }
        GHTIER_CUDA_CHECK(cudaEventRecord(join_.get(), back));
        GHTIER_CUDA_CHECK(cudaStreamWaitEvent(s, join_.get(), 0));
        break;
      }
    }
  }

  MatrixCase case_;
  int device_;
  int transfers_;
  unsigned max_blocks_ = 1;
  MatrixBuffers& buffers_;
  char* src_ = nullptr;
  char* dst_ = nullptr;
  char* back_src_ = nullptr;
  char* back_dst_ = nullptr;
  Stream stream_;
  Stream second_stream_;
  Event fork_;
  Event join_;
  EventTimer timer_;
  std::unique_ptr<StreamBlocker> blocker_;
};

// The case's ceiling from the figures it needs, each measured in this run just before the case.
MatrixCeiling measured_matrix_ceiling(const MatrixCase& c, int device) {
  LinkModel measured;
  measured.source = "measured in this run";
  for (LinkFigure figure : matrix_ceiling_figures(c)) figure_of(measured, figure) = measured_ceiling(device, figure);
  return matrix_ceiling(measured, c);
}

void run_matrix_case(benchmark::State& state, const MatrixCase& c, const BenchOptions& options) {
  std::unique_ptr<MatrixCaseRunner> runner;
  MatrixCeiling ceiling;
  try {
    GHTIER_CUDA_CHECK(cudaSetDevice(options.device));
    ceiling = measured_matrix_ceiling(c, options.device);
    runner = std::make_unique<MatrixCaseRunner>(c, options);
    (void)runner->timed_batch();  // warm-up: page tables, clocks, the kernel's first launch
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  Samples samples;
  for (auto _ : state) {
    try {
      const double seconds = runner->timed_batch();
      state.SetIterationTime(seconds);
      samples.add(c.method == MatrixMethod::latency ? seconds / runner->transfers() : seconds);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      break;
    }
  }
  if (state.error_occurred()) return;
  if (c.method == MatrixMethod::latency) {
    report_latency(state, samples, ceiling.value, ceiling.name);
  } else {
    const double directions = c.method == MatrixMethod::bidirectional ? 2.0 : 1.0;
    report_bandwidth(state, directions * static_cast<double>(runner->transfers()) * static_cast<double>(c.bytes),
                     samples, ceiling.value, ceiling.name);
  }
  state.counters["size_bytes"] = static_cast<double>(c.bytes);
}

// The cases depend on what the GPU can reach (pageable memory only with ATS/HMM), so the device's class
// decides the list; the ceilings are measured when each case runs. Without a device the PCIe class's list
// is registered and every case reports the missing device.
Platform registration_platform(int device) {
  if (visible_device_count() > device) {
    try {
      return classify(query_device_attributes(device), platform_profile("pcie-gen5").link);
    } catch (const Error&) {
      // fall through to the profile: the cases themselves will report the device's error
    }
  }
  return assume_platform("pcie-gen5");
}

void register_bandwidth_matrix(const BenchOptions& options) {
  const Platform platform = registration_platform(options.device);
  for (const MatrixCase& c : matrix_cases(platform, options.quick)) {
    benchmark::RegisterBenchmark(case_name(c).c_str(),
                                 [c, options](benchmark::State& state) { run_matrix_case(state, c, options); })
        ->Iterations(matrix_repeats(options.quick))
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

GHTIER_BENCH_SUITE("bandwidth_matrix", register_bandwidth_matrix);

}  // namespace ghtier::bench
