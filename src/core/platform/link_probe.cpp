// LinkProbe: the timed transfers behind each link figure, with CUDA events, median of repeats.
#include "core/platform/link_probe.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "core/platform/link_probe_kernels.hpp"
#include "core/support/cuda_check.hpp"
#include "ghtier/error.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier::detail {

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
Event make_event(unsigned flags = cudaEventDefault) {
  cudaEvent_t e = nullptr;
  GHTIER_CUDA_CHECK(cudaEventCreateWithFlags(&e, flags));
  return Event(e);
}

// Sets the probe's device for the duration of a call and puts the caller's back.
class OnDevice {
 public:
  explicit OnDevice(int device) {
    GHTIER_CUDA_CHECK(cudaGetDevice(&previous_));
    GHTIER_CUDA_CHECK(cudaSetDevice(device));
  }
  ~OnDevice() { GHTIER_CUDA_CHECK_NOTHROW(cudaSetDevice(previous_)); }
  OnDevice(const OnDevice&) = delete;
  OnDevice& operator=(const OnDevice&) = delete;

 private:
  int previous_ = 0;
};

double gbps(std::size_t bytes, double seconds) { return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e9 : 0; }

constexpr std::size_t max_pageable_bytes = std::size_t{64} << 20;  // pageable copies are slow
constexpr std::size_t latency_bytes = 4096;

}  // namespace

struct LinkProbe::Resources {
  int device = 0;
  std::size_t bytes = 0;
  std::size_t pageable_bytes = 0;
  unsigned blocks = 1;
  DevicePtr device_buffer;
  PinnedPtr pinned;
  std::unique_ptr<char[]> pageable;
  DevicePtr sink;
  Stream s1;
  Stream s2;
  Event start;
  Event stop;
  Event fork;
  Event join;
};

LinkProbe::LinkProbe(int device, std::size_t transfer_bytes) : resources_(std::make_unique<Resources>()) {
  if (transfer_bytes < (std::size_t{1} << 20) || transfer_bytes % 16 != 0) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("link probe: transfer_bytes must be a multiple of 16 and at least 1 MiB, got {}", transfer_bytes));
  }
  (void)query_device_attributes(device);  // throws no_device with CUDA's text
  OnDevice on(device);
  Resources& r = *resources_;
  r.device = device;
  r.bytes = transfer_bytes;
  r.pageable_bytes = std::min(transfer_bytes, max_pageable_bytes);
  void* raw = nullptr;
  GHTIER_CUDA_CHECK(cudaMalloc(&raw, 2 * r.bytes));
  r.device_buffer.reset(raw);
  GHTIER_CUDA_CHECK(cudaHostAlloc(&raw, 2 * r.bytes, cudaHostAllocDefault));
  r.pinned.reset(raw);
  GHTIER_CUDA_CHECK(cudaMalloc(&raw, sizeof(float)));
  r.sink.reset(raw);
  r.pageable.reset(new char[r.pageable_bytes]);
  std::memset(r.pageable.get(), 1, r.pageable_bytes);
  std::memset(r.pinned.get(), 1, 2 * r.bytes);
  r.s1 = make_stream();
  r.s2 = make_stream();
  r.start = make_event();
  r.stop = make_event();
  r.fork = make_event(cudaEventDisableTiming);
  r.join = make_event(cudaEventDisableTiming);
  int sm_count = 0;
  GHTIER_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, device));
  r.blocks = static_cast<unsigned>(std::max(sm_count, 1)) * 8;  // 8 blocks of 256 threads fill an SM
}

LinkProbe::~LinkProbe() = default;

int LinkProbe::device() const noexcept { return resources_->device; }

double LinkProbe::measure(LinkFigure figure, int repeats) {
  if (repeats < 1) {
    throw_error(ErrorCode::invalid_argument, fmt::format("link probe: repeats must be at least 1, got {}", repeats));
  }
  OnDevice on(resources_->device);
  Resources& r = *resources_;
  char* dev = static_cast<char*>(r.device_buffer.get());
  char* host = static_cast<char*>(r.pinned.get());
  cudaStream_t s = r.s1.get();
  const std::size_t bytes = r.bytes;

  std::size_t moved = bytes;
  auto enqueue = [&](cudaStream_t stream) {
    switch (figure) {
      case LinkFigure::h2d: GHTIER_CUDA_CHECK(cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, stream)); break;
      case LinkFigure::d2h: GHTIER_CUDA_CHECK(cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, stream)); break;
      case LinkFigure::bidirectional:
        // The second stream joins and rejoins the timed one through events.
        GHTIER_CUDA_CHECK(cudaEventRecord(r.fork.get(), stream));
        GHTIER_CUDA_CHECK(cudaStreamWaitEvent(r.s2.get(), r.fork.get()));
        GHTIER_CUDA_CHECK(cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, stream));
        GHTIER_CUDA_CHECK(cudaMemcpyAsync(host + bytes, dev + bytes, bytes, cudaMemcpyDeviceToHost, r.s2.get()));
        GHTIER_CUDA_CHECK(cudaEventRecord(r.join.get(), r.s2.get()));
        GHTIER_CUDA_CHECK(cudaStreamWaitEvent(stream, r.join.get()));
        break;
      case LinkFigure::sm_read:
        launch_read_probe(host, bytes, static_cast<float*>(r.sink.get()), r.blocks, stream);
        break;
      case LinkFigure::sm_write: launch_write_probe(host, bytes, r.blocks, stream); break;
      case LinkFigure::hbm:
        launch_read_probe(dev, 2 * bytes, static_cast<float*>(r.sink.get()), r.blocks, stream);
        break;
      case LinkFigure::pageable_h2d:
        GHTIER_CUDA_CHECK(cudaMemcpyAsync(dev, r.pageable.get(), r.pageable_bytes, cudaMemcpyHostToDevice, stream));
        break;
      case LinkFigure::pageable_d2h:
        GHTIER_CUDA_CHECK(cudaMemcpyAsync(r.pageable.get(), dev, r.pageable_bytes, cudaMemcpyDeviceToHost, stream));
        break;
      case LinkFigure::latency:
        GHTIER_CUDA_CHECK(cudaMemcpyAsync(dev, host, latency_bytes, cudaMemcpyHostToDevice, stream));
        break;
    }
  };
  switch (figure) {
    case LinkFigure::bidirectional:
    case LinkFigure::hbm: moved = 2 * bytes; break;
    case LinkFigure::pageable_h2d:
    case LinkFigure::pageable_d2h: moved = r.pageable_bytes; break;
    default: break;
  }

  enqueue(s);  // warm-up: page tables, module load, clocks
  GHTIER_CUDA_CHECK(cudaStreamSynchronize(s));
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    GHTIER_CUDA_CHECK(cudaEventRecord(r.start.get(), s));
    enqueue(s);
    GHTIER_CUDA_CHECK(cudaEventRecord(r.stop.get(), s));
    GHTIER_CUDA_CHECK(cudaEventSynchronize(r.stop.get()));
    float ms = 0;
    GHTIER_CUDA_CHECK(cudaEventElapsedTime(&ms, r.start.get(), r.stop.get()));
    times.push_back(static_cast<double>(ms) * 1e-3);
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  return figure == LinkFigure::latency ? median * 1e6 : gbps(moved, median);
}

}  // namespace ghtier::detail
