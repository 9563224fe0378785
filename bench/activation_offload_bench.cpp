// The "activation_offload" suite: a synthetic training step (layers of equal tensors; a compute kernel per
// layer standing in for its forward and, twice as long, its backward) run three ways in the same process:
// compute alone (activations kept), the ActivationOffloader saving every tensor behind the forward pass and
// prefetching one layer ahead of the backward pass, and raw cudaMemcpyAsync of the same bytes out and back.
//   activation_offload/step/...: offloaded step time vs the bound max(forward, bytes / d2h) + max(backward,
//     bytes / h2d) from the raw copies and the compute measured in the same run (ratio: lower is better;
//     target <= 1.15, issue 11);
//   activation_offload/copy_only/...: save every tensor then restore every tensor, no compute, vs raw D2H
//     then H2D of the same tensors (ratio: higher is better).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_suite.hpp"
#include "core/support/cuda_check.hpp"
#include "engine_bench_kernels.hpp"
#include "ghtier/workloads/activation_offload.hpp"
#include "workload_bench_support.hpp"

namespace ghtier::bench {

namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;
constexpr double step_target = 1.15;  // offloaded step at most this times the bound

struct StepShape {
  std::size_t layers;
  std::size_t tensors_per_layer;
  std::size_t tensor_bytes;
  [[nodiscard]] std::size_t total_bytes() const { return layers * tensors_per_layer * tensor_bytes; }
  [[nodiscard]] std::string name() const {
    return fmt::format("{}x{}x{}MiB", layers, tensors_per_layer, tensor_bytes / MiB);
  }
};

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Everything one case needs; made per case (not timed), so a filtered run pays only for what it runs.
struct StepFixture {
  StepShape shape;
  Runtime runtime;
  TransferEngine engine;
  ActivationOffloader offloader;
  Stream compute = make_stream();
  Stream raw = make_stream();
  std::vector<Buffer> tensors;
  Buffer raw_host;
  Buffer sink;
  int blocks = 0;

  explicit StepFixture(const BenchOptions& options, StepShape s)
      : shape(s),
        runtime(runtime_options(options.device)),
        engine(runtime.platform(), runtime.device(), &runtime),
        offloader(runtime, engine, {.host_arena_bytes = s.total_bytes() + 64 * MiB}) {
    for (std::size_t i = 0; i < shape.layers * shape.tensors_per_layer; ++i) {
      tensors.push_back(runtime.allocate_in(MemoryMode::device, shape.tensor_bytes));
      GHTIER_CUDA_CHECK(cudaMemset(tensors.back().data(), static_cast<int>(i & 0xFF), shape.tensor_bytes));
    }
    raw_host = runtime.allocate_in(MemoryMode::pinned_host, shape.total_bytes());
    blocks = runtime.platform().attributes.sm_count * 4;
    sink = runtime.allocate_in(MemoryMode::device, static_cast<std::size_t>(blocks) * 256 * sizeof(float));
  }

  void* tensor(std::size_t layer, std::size_t t) const { return tensors[layer * shape.tensors_per_layer + t].data(); }

  // Raw D2H of every tensor on one stream, then raw H2D back: seconds of each direction.
  std::pair<double, double> raw_copies() {
    const double d2h = seconds_of([&] {
      for (std::size_t i = 0; i < tensors.size(); ++i) {
        GHTIER_CUDA_CHECK(cudaMemcpyAsync(raw_host.data_as<unsigned char>() + i * shape.tensor_bytes, tensors[i].data(),
                                          shape.tensor_bytes, cudaMemcpyDeviceToHost, raw.get()));
      }
      GHTIER_CUDA_CHECK(cudaStreamSynchronize(raw.get()));
    });
    const double h2d = seconds_of([&] {
      for (std::size_t i = 0; i < tensors.size(); ++i) {
        GHTIER_CUDA_CHECK(cudaMemcpyAsync(tensors[i].data(), raw_host.data_as<unsigned char>() + i * shape.tensor_bytes,
                                          shape.tensor_bytes, cudaMemcpyHostToDevice, raw.get()));
      }
      GHTIER_CUDA_CHECK(cudaStreamSynchronize(raw.get()));
    });
    return {d2h, h2d};
  }

  // Burn iterations that take about `seconds` on the compute stream (0: no kernel).
  int calibrate_burn(double seconds) {
    if (seconds <= 0) return 0;
    const int probe = 1 << 14;
    float* out = sink.data_as<float>();
    launch_compute_burn(out, blocks, probe, compute.get());
    GHTIER_CUDA_CHECK(cudaStreamSynchronize(compute.get()));
    const double t = seconds_of([&] {
      launch_compute_burn(out, blocks, probe, compute.get());
      GHTIER_CUDA_CHECK(cudaStreamSynchronize(compute.get()));
    });
    return std::max(1, static_cast<int>(probe * seconds / t));
  }

  void burn(int iterations) {
    if (iterations > 0) launch_compute_burn(sink.data_as<float>(), blocks, iterations, compute.get());
  }

  // Compute alone: forward then backward seconds (activations kept).
  std::pair<double, double> keep_all(int forward_iterations, int backward_iterations) {
    const double forward = seconds_of([&] {
      for (std::size_t l = 0; l < shape.layers; ++l) burn(forward_iterations);
      GHTIER_CUDA_CHECK(cudaStreamSynchronize(compute.get()));
    });
    const double backward = seconds_of([&] {
      for (std::size_t l = 0; l < shape.layers; ++l) burn(backward_iterations);
      GHTIER_CUDA_CHECK(cudaStreamSynchronize(compute.get()));
    });
    return {forward, backward};
  }

  // The offloaded step: save behind the forward pass, prefetch one layer ahead of the backward pass.
  double offloaded_step(int forward_iterations, int backward_iterations) {
    std::vector<ActivationHandle> handles(tensors.size());
    const double seconds = seconds_of([&] {
      for (std::size_t l = 0; l < shape.layers; ++l) {
        offloader.begin_layer(l);
        burn(forward_iterations);
        for (std::size_t t = 0; t < shape.tensors_per_layer; ++t) {
          handles[l * shape.tensors_per_layer + t] = offloader.save(tensor(l, t), shape.tensor_bytes, compute.get());
        }
        offloader.end_layer();
      }
      for (std::size_t l = shape.layers; l-- > 0;) {
        if (l > 0) (void)offloader.prefetch_layer(l - 1);
        for (std::size_t t = 0; t < shape.tensors_per_layer; ++t) {
          (void)offloader.restore(handles[l * shape.tensors_per_layer + t], compute.get());
        }
        burn(backward_iterations);
        for (std::size_t t = 0; t < shape.tensors_per_layer; ++t) {
          offloader.release(handles[l * shape.tensors_per_layer + t]);
        }
      }
      GHTIER_CUDA_CHECK(cudaStreamSynchronize(compute.get()));
    });
    return seconds;
  }
};

// with_compute: the forward compute of a layer is about its D2H time at the raw rate (the balanced case
// the bound is about), the backward twice that.
void run_step(benchmark::State& state, const BenchOptions& options, StepShape shape, bool with_compute) {
  try {
    StepFixture f(options, shape);
    const double bytes = static_cast<double>(shape.total_bytes());
    (void)f.raw_copies();  // warm-up
    std::vector<double> d2h_s;
    for (int i = 0; i < 3; ++i) d2h_s.push_back(f.raw_copies().first);
    const double d2h = median_of(d2h_s);
    const int forward_iterations = with_compute ? f.calibrate_burn(d2h / static_cast<double>(shape.layers)) : 0;
    const int backward_iterations = with_compute ? 2 * forward_iterations : 0;
    (void)f.offloaded_step(forward_iterations, backward_iterations);  // warm-up: arena and pool touched
    Samples offloaded, forward, backward, raw_d2h, raw_h2d;
    for (auto _ : state) {
      const auto [fwd, bwd] = f.keep_all(forward_iterations, backward_iterations);
      forward.add(fwd);
      backward.add(bwd);
      const auto [d, h] = f.raw_copies();
      raw_d2h.add(d);
      raw_h2d.add(h);
      const double s = f.offloaded_step(forward_iterations, backward_iterations);
      offloaded.add(s);
      state.SetIterationTime(s);
    }
    state.counters["raw_d2h_GBps"] = bytes / raw_d2h.median() * 1e-9;
    state.counters["raw_h2d_GBps"] = bytes / raw_h2d.median() * 1e-9;
    state.counters["offloaded_GiB"] = bytes / double(1 << 30);
    if (with_compute) {
      const double bound = std::max(forward.median(), raw_d2h.median()) + std::max(backward.median(), raw_h2d.median());
      state.counters["keep_all_us"] = (forward.median() + backward.median()) * 1e6;
      state.counters["target"] = step_target;
      report_latency(state, offloaded, bound * 1e6,
                     "bound max(fwd, bytes/d2h) + max(bwd, bytes/h2d), raw copies and compute of the same run");
    } else {
      report_bandwidth(state, 2 * bytes, offloaded, 2 * bytes / (raw_d2h.median() + raw_h2d.median()) * 1e-9,
                       "raw D2H then H2D of the same tensors, same run");
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void register_activation_offload(const BenchOptions& options) {
  const bool quick = options.quick;
  const std::vector<StepShape> shapes =
      quick ? std::vector<StepShape>{{8, 4, 16 * MiB}}
            : std::vector<StepShape>{{8, 4, 16 * MiB}, {16, 8, 16 * MiB}, {16, 32, 2 * MiB}};
  for (const StepShape& shape : shapes) {
    for (bool with_compute : {true, false}) {
      benchmark::RegisterBenchmark(
          fmt::format("activation_offload/{}/{}", with_compute ? "step" : "copy_only", shape.name()).c_str(),
          [=](benchmark::State& s) { run_step(s, options, shape, with_compute); })
          ->Iterations(quick ? 3 : 5)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace

GHTIER_BENCH_SUITE("activation_offload", register_activation_offload);

}  // namespace ghtier::bench
