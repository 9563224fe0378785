// calibrate(): measures the link model of a real device in well under two seconds, with CUDA events,
// median of a few repeats, on buffers large enough to reach the copy engines' plateau.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "core/platform/link_probe_kernels.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/nvtx_range.hpp"
#include "ghtier/platform/link_model.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier {

namespace {

struct DeviceFree {
  void operator()(void* p) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaFree(p)); }
};
struct HostFree {
  void operator()(void* p) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaFreeHost(p)); }
};
struct StreamDestroy {
  void operator()(cudaStream_t s) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(s)); }
};
struct EventDestroy {
  void operator()(cudaEvent_t e) const noexcept { GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(e)); }
};
using DevicePtr = std::unique_ptr<void, DeviceFree>;
using PinnedPtr = std::unique_ptr<void, HostFree>;
using Stream = std::unique_ptr<std::remove_pointer_t<cudaStream_t>, StreamDestroy>;
using Event = std::unique_ptr<std::remove_pointer_t<cudaEvent_t>, EventDestroy>;

Stream make_stream() {
  cudaStream_t s = nullptr;
  GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return Stream(s);
}
Event make_event() {
  cudaEvent_t e = nullptr;
  GHTIER_CUDA_CHECK(cudaEventCreate(&e));
  return Event(e);
}

// Median seconds of `repeats` runs of enqueue(stream), each bracketed by events on `stream`.
template <typename Enqueue>
double median_seconds(cudaStream_t stream, int repeats, Enqueue&& enqueue) {
  Event start = make_event();
  Event stop = make_event();
  enqueue(stream);  // warm-up: page tables, module load, clocks
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    GHTIER_CUDA_CHECK(cudaEventRecord(start.get(), stream));
    enqueue(stream);
    GHTIER_CUDA_CHECK(cudaEventRecord(stop.get(), stream));
    GHTIER_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    float ms = 0;
    GHTIER_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
    times.push_back(ms * 1e-3);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

double gbps(std::size_t bytes, double seconds) { return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e9 : 0; }

}  // namespace

LinkModel calibrate(int device, const CalibrationOptions& options) {
  if (options.transfer_bytes < (1u << 20) || options.transfer_bytes % 16 != 0) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("calibrate: transfer_bytes must be a multiple of 16 and at least 1 MiB, got {}",
                            options.transfer_bytes));
  }
  (void)query_device_attributes(device);  // throws no_device with CUDA's text
  detail::NvtxRange range("ghtier::calibrate", options.transfer_bytes);
  const auto started = std::chrono::steady_clock::now();
  auto over_budget = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() >
           options.time_budget_seconds * 0.8;
  };

  int previous_device = 0;
  GHTIER_CUDA_CHECK(cudaGetDevice(&previous_device));
  GHTIER_CUDA_CHECK(cudaSetDevice(device));
  struct RestoreDevice {
    int device;
    ~RestoreDevice() { GHTIER_CUDA_CHECK_NOTHROW(cudaSetDevice(device)); }
  } restore{previous_device};

  const std::size_t bytes = options.transfer_bytes;
  const std::size_t pageable_bytes = std::min<std::size_t>(bytes, 64u << 20);  // pageable copies are slow
  void* raw = nullptr;
  GHTIER_CUDA_CHECK(cudaMalloc(&raw, 2 * bytes));
  DevicePtr device_buffer(raw);
  GHTIER_CUDA_CHECK(cudaHostAlloc(&raw, 2 * bytes, cudaHostAllocDefault));
  PinnedPtr pinned(raw);
  std::unique_ptr<char[]> pageable(new char[pageable_bytes]);
  std::memset(pageable.get(), 1, pageable_bytes);
  std::memset(pinned.get(), 1, 2 * bytes);
  float* sink = nullptr;
  GHTIER_CUDA_CHECK(cudaMalloc(&raw, sizeof(float)));
  DevicePtr sink_owner(raw);
  sink = static_cast<float*>(raw);

  char* dev = static_cast<char*>(device_buffer.get());
  char* host = static_cast<char*>(pinned.get());
  Stream s1 = make_stream();
  Stream s2 = make_stream();
  const int repeats = 3;

  int sm_count = 0;
  GHTIER_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, device));
  const unsigned blocks = static_cast<unsigned>(sm_count) * 8;

  LinkModel link;
  link.source = "calibrated";
  link.h2d_gbps = gbps(bytes, median_seconds(s1.get(), repeats, [&](cudaStream_t s) {
                         GHTIER_CUDA_CHECK(cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, s));
                       }));
  link.d2h_gbps = gbps(bytes, median_seconds(s1.get(), repeats, [&](cudaStream_t s) {
                         GHTIER_CUDA_CHECK(cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, s));
                       }));
  {
    // Both directions at once: the second stream joins and rejoins the timed one through events.
    Event fork = make_event();
    Event join = make_event();
    link.bidirectional_gbps =
        gbps(2 * bytes, median_seconds(s1.get(), repeats, [&](cudaStream_t s) {
               GHTIER_CUDA_CHECK(cudaEventRecord(fork.get(), s));
               GHTIER_CUDA_CHECK(cudaStreamWaitEvent(s2.get(), fork.get()));
               GHTIER_CUDA_CHECK(cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, s));
               GHTIER_CUDA_CHECK(cudaMemcpyAsync(host + bytes, dev + bytes, bytes, cudaMemcpyDeviceToHost, s2.get()));
               GHTIER_CUDA_CHECK(cudaEventRecord(join.get(), s2.get()));
               GHTIER_CUDA_CHECK(cudaStreamWaitEvent(s, join.get()));
             }));
  }
  link.sm_read_gbps = gbps(bytes, median_seconds(s1.get(), repeats, [&](cudaStream_t s) {
                             detail::launch_read_probe(host, bytes, sink, blocks, s);
                           }));
  link.sm_write_gbps = gbps(bytes, median_seconds(s1.get(), repeats, [&](cudaStream_t s) {
                              detail::launch_write_probe(host, bytes, blocks, s);
                            }));
  link.hbm_gbps = gbps(2 * bytes, median_seconds(s1.get(), repeats, [&](cudaStream_t s) {
                         detail::launch_read_probe(dev, 2 * bytes, sink, blocks, s);
                       }));
  const int pageable_repeats = over_budget() ? 1 : repeats;
  link.pageable_h2d_gbps =
      gbps(pageable_bytes, median_seconds(s1.get(), pageable_repeats, [&](cudaStream_t s) {
             GHTIER_CUDA_CHECK(cudaMemcpyAsync(dev, pageable.get(), pageable_bytes, cudaMemcpyHostToDevice, s));
           }));
  link.pageable_d2h_gbps =
      gbps(pageable_bytes, median_seconds(s1.get(), pageable_repeats, [&](cudaStream_t s) {
             GHTIER_CUDA_CHECK(cudaMemcpyAsync(pageable.get(), dev, pageable_bytes, cudaMemcpyDeviceToHost, s));
           }));
  link.latency_us = 1e6 * median_seconds(s1.get(), 21, [&](cudaStream_t s) {
                      GHTIER_CUDA_CHECK(cudaMemcpyAsync(dev, host, 4096, cudaMemcpyHostToDevice, s));
                    });
  link.validate();
  return link;
}

}  // namespace ghtier
