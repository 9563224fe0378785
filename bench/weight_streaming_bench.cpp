// The "weight_streaming" suite: a synthetic decoder (layers of equal weights in pinned host memory; a kernel
// per layer that reads every weight once, with FMAs per weight for a compute-bound shape) run in the same
// process as: every layer resident (its compute is the compute bound), raw cudaMemcpyAsync of every layer
// (the h2d rate), a naive loop that copies each layer into one device buffer on the compute stream before
// computing it, and the WeightStreamer at budgets of 0%, 25%, 50% and 75% of the weights (plus two slots).
//   weight_streaming/<shape>/budget<P>: pass time vs the bound max(resident compute, streamed bytes / h2d)
//     of that budget's plan, measured in the same run (ratio: lower is better; target <= 1.1, issue 12);
//   weight_streaming/<shape>/naive: the naive loop vs the budget-0 bound.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_suite.hpp"
#include "core/support/cuda_check.hpp"
#include "ghtier/workloads/weight_streamer.hpp"
#include "weight_read_kernel.hpp"
#include "workload_bench_support.hpp"

namespace ghtier::bench {

namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;
constexpr double pass_target = 1.1;
constexpr int passes_per_sample = 4;

struct DecoderShape {
  std::string name;
  std::size_t layers;
  std::size_t layer_bytes;
  bool compute_bound;  // FMAs per weight so that a layer's compute is about its copy time
};

// Host weights, their resident device copies and the measuring helpers of one shape; shared by the shape's
// cases (made on first use, freed by the suite cleanup).
struct DecoderFixture {
  DecoderShape shape;
  Runtime runtime;
  TransferEngine engine;
  Stream compute = make_stream();
  std::vector<Buffer> host;      // per layer, pinned
  std::vector<Buffer> resident;  // per layer, device (the all-resident reference)
  Buffer naive_slot;
  Buffer sink;
  int blocks = 0;
  int fma_iterations = 0;

  DecoderFixture(const BenchOptions& options, DecoderShape s)
      : shape(std::move(s)),
        runtime(runtime_options(options.device)),
        engine(runtime.platform(), runtime.device(), &runtime) {
    for (std::size_t l = 0; l < shape.layers; ++l) {
      host.push_back(runtime.allocate_in(MemoryMode::pinned_host, shape.layer_bytes));
      std::memset(host.back().data(), static_cast<int>(l * 37 + 1), shape.layer_bytes);
      resident.push_back(runtime.allocate_in(MemoryMode::device, shape.layer_bytes));
      GHTIER_CUDA_CHECK(cudaMemcpy(resident.back().data(), host.back().data(), shape.layer_bytes, cudaMemcpyDefault));
    }
    naive_slot = runtime.allocate_in(MemoryMode::device, shape.layer_bytes);
    blocks = runtime.platform().attributes.sm_count * 4;
    sink = runtime.allocate_in(MemoryMode::device, static_cast<std::size_t>(blocks) * sizeof(std::uint32_t));
    if (shape.compute_bound) calibrate_compute();
  }

  void layer(const void* weights) {
    launch_weight_read(weights, shape.layer_bytes, fma_iterations, sink.data_as<std::uint32_t>(), blocks,
                       compute.get());
  }

  double resident_pass() {
    return seconds_of([&] {
             for (int p = 0; p < passes_per_sample; ++p) {
               for (const Buffer& b : resident) layer(b.data());
             }
             GHTIER_CUDA_CHECK(cudaStreamSynchronize(compute.get()));
           }) /
           passes_per_sample;
  }

  // Every layer copied once with cudaMemcpyAsync, back to back: seconds per pass of copies.
  double raw_copy_pass() {
    return seconds_of([&] {
      for (const Buffer& b : host) {
        GHTIER_CUDA_CHECK(
            cudaMemcpyAsync(naive_slot.data(), b.data(), shape.layer_bytes, cudaMemcpyHostToDevice, compute.get()));
      }
      GHTIER_CUDA_CHECK(cudaStreamSynchronize(compute.get()));
    });
  }

  double naive_pass() {
    return seconds_of([&] {
             for (int p = 0; p < passes_per_sample; ++p) {
               for (const Buffer& b : host) {
                 GHTIER_CUDA_CHECK(cudaMemcpyAsync(naive_slot.data(), b.data(), shape.layer_bytes,
                                                   cudaMemcpyHostToDevice, compute.get()));
                 layer(naive_slot.data());
               }
             }
             GHTIER_CUDA_CHECK(cudaStreamSynchronize(compute.get()));
           }) /
           passes_per_sample;
  }

  double streamed_pass(WeightStreamer& streamer) {
    return seconds_of([&] {
             for (int p = 0; p < passes_per_sample; ++p) {
               for (std::size_t l = 0; l < shape.layers; ++l) {
                 const std::vector<void*> pointers = streamer.acquire(l, compute.get());
                 layer(pointers[0]);
                 streamer.release(l, compute.get());
               }
             }
             GHTIER_CUDA_CHECK(cudaStreamSynchronize(compute.get()));
           }) /
           passes_per_sample;
  }

  std::vector<WeightLayer> weight_layers(double layer_seconds) const {
    std::vector<WeightLayer> layers;
    for (const Buffer& b : host) layers.push_back({{{b.data(), shape.layer_bytes}}, layer_seconds});
    return layers;
  }

  // FMAs per weight word so that one layer's compute is about one layer's copy time.
  void calibrate_compute() {
    const double copy = raw_copy_pass() / static_cast<double>(shape.layers);
    fma_iterations = 64;
    const double t = seconds_of([&] {
      layer(resident[0].data());
      GHTIER_CUDA_CHECK(cudaStreamSynchronize(compute.get()));
    });
    fma_iterations = std::max(1, static_cast<int>(64 * copy / t));
  }
};

std::shared_ptr<DecoderFixture> fixture_for(const BenchOptions& options, const DecoderShape& shape) {
  static std::map<std::string, std::shared_ptr<DecoderFixture>> fixtures;
  auto& f = fixtures[shape.name];
  if (!f) {
    if (fixtures.size() == 1) on_suite_cleanup([] { fixtures.clear(); });
    f = std::make_shared<DecoderFixture>(options, shape);
  }
  return f;
}

// budget_percent < 0: the naive loop.
void run_pass(benchmark::State& state, const BenchOptions& options, const DecoderShape& shape, int budget_percent) {
  try {
    const auto f = fixture_for(options, shape);
    const double total = static_cast<double>(shape.layers * shape.layer_bytes);
    (void)f->resident_pass();  // warm-up
    const double layer_seconds = f->resident_pass() / static_cast<double>(shape.layers);
    std::unique_ptr<WeightStreamer> streamer;
    const std::size_t budget_bytes =
        static_cast<std::size_t>(std::max(budget_percent, 0) / 100.0 * total) + 2 * shape.layer_bytes;
    if (budget_percent >= 0) {
      streamer = std::make_unique<WeightStreamer>(f->runtime, f->engine, f->weight_layers(layer_seconds),
                                                  WeightStreamerOptions{.device_budget_bytes = budget_bytes});
      (void)f->streamed_pass(*streamer);  // warm-up: the ring reaches its steady state
    }
    const WeightPlan plan = streamer ? streamer->plan() : WeightPlan{};
    const double streamed_bytes =
        streamer ? static_cast<double>(plan.predicted.streamed_bytes) : static_cast<double>(total);
    Samples measured, resident, raw;
    for (auto _ : state) {
      resident.add(f->resident_pass());
      raw.add(f->raw_copy_pass());
      const double s = streamer ? f->streamed_pass(*streamer) : f->naive_pass();
      measured.add(s);
      state.SetIterationTime(s);
    }
    const double h2d_gbps = total / raw.median() * 1e-9;
    const double bound = std::max(resident.median(), streamed_bytes / (h2d_gbps * 1e9));
    state.counters["raw_h2d_GBps"] = h2d_gbps;
    state.counters["resident_us"] = resident.median() * 1e6;
    state.counters["streamed_GiB"] = streamed_bytes / double(1 << 30);
    state.counters["target"] = pass_target;
    // The bound for this budget: the bytes beyond the budget's share streamed at the raw rate.
    const double share = std::max(budget_percent, 0) / 100.0;
    state.counters["budget_bound_us"] = std::max(resident.median(), (1 - share) * total / (h2d_gbps * 1e9)) * 1e6;
    if (streamer) {
      const WeightStreamerStatistics st = streamer->statistics();
      state.counters["ring_slots"] = static_cast<double>(st.ring_slots);
      state.counters["resident_layers"] = static_cast<double>(st.resident_layers);
      state.counters["urgent_copies"] = static_cast<double>(st.urgent_copies);
      state.counters["predicted_us"] = plan.predicted.step_seconds * 1e6;
      // A budget change between passes: up to 75% and back, each timed (promotion copies included).
      streamer->set_budget(static_cast<std::size_t>(0.75 * total) + 2 * shape.layer_bytes);
      const double up = streamer->statistics().last_budget_change_seconds;
      streamer->set_budget(budget_bytes);
      state.counters["budget_change_up_ms"] = up * 1e3;
      state.counters["budget_change_back_ms"] = streamer->statistics().last_budget_change_seconds * 1e3;
    }
    report_latency(state, measured, bound * 1e6, "bound max(resident compute, streamed bytes / raw h2d), same run");
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void register_weight_streaming(const BenchOptions& options) {
  const bool quick = options.quick;
  std::vector<DecoderShape> shapes;
  if (quick) {
    shapes = {{"decode_12x64MiB", 12, 64 * MiB, false}};
  } else {
    // Llama-3-8B's decoder layer: 218 M parameters, 416 MiB in bf16.
    shapes = {{"decode_12x416MiB", 12, 416 * MiB, false}, {"prefill_12x416MiB", 12, 416 * MiB, true}};
  }
  for (const DecoderShape& shape : shapes) {
    for (int budget : {-1, 0, 25, 50, 75}) {
      const std::string variant = budget < 0 ? std::string("naive") : fmt::format("budget{}", budget);
      benchmark::RegisterBenchmark(fmt::format("weight_streaming/{}/{}", shape.name, variant).c_str(),
                                   [=](benchmark::State& s) { run_pass(s, options, shape, budget); })
          ->Iterations(quick ? 3 : 5)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace

GHTIER_BENCH_SUITE("weight_streaming", register_weight_streaming);

}  // namespace ghtier::bench
