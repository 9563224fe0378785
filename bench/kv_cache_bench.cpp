// The "kv_cache" suite: restoring one suspended session of Llama-3-8B's KV shape (32 layers, 8 KV heads of
// 128, bf16: 128 KiB a token; 16-token blocks of 2 MiB) from pinned host memory, in the same process:
//   kv_cache/restore/batched/<tokens>: KvCacheStore::resume (one batch of the session's blocks) until the
//     stream has them, against one contiguous cudaMemcpyAsync of the same bytes (ratio: higher is better;
//     target >= 0.9, issue 13);
//   kv_cache/restore/layer_pipelined/<tokens>: KvCacheStore::resume_by_layer (one batch per layer, in
//     layer order) until every layer is there, against the same copy; counter first_layer_us: when layer 0
//     had arrived (host-side wait on its token);
//   kv_cache/restore/per_block_memcpy/<tokens>: one cudaMemcpyAsync per block and layer (64 KiB each, the
//     way vLLM's swap_blocks copies), against the same contiguous copy.
// Wall-clock time from the call to the stream having the bytes (host work included).
#include <cuda_runtime_api.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_suite.hpp"
#include "core/support/cuda_check.hpp"
#include "ghtier/workloads/kv_cache.hpp"
#include "workload_bench_support.hpp"

namespace ghtier::bench {

namespace {

enum class RestoreWay { batched, layer_pipelined, per_block_memcpy };

const char* name_of(RestoreWay way) {
  switch (way) {
    case RestoreWay::batched: return "batched";
    case RestoreWay::layer_pipelined: return "layer_pipelined";
    case RestoreWay::per_block_memcpy: return "per_block_memcpy";
  }
  return "unknown";
}

// A store holding one session of `tokens`, suspended; plus a contiguous device and pinned host buffer of the
// same bytes for the baselines. Made per case (not timed).
struct RestoreFixture {
  KvBlockShape shape = llama3_8b_kv_shape();
  std::size_t tokens;
  std::size_t blocks = shape.blocks_for(tokens);
  Runtime runtime;
  TransferEngine engine;
  KvCacheStore store;
  Stream stream = make_stream();
  KvSessionId session = 0;
  Buffer device_copy;
  Buffer host_copy;

  RestoreFixture(const BenchOptions& options, std::size_t t)
      : tokens(t),
        runtime(runtime_options(options.device)),
        engine(runtime),
        store(runtime, engine, KvCacheOptions{shape, blocks, blocks}) {
    session = store.create();
    (void)store.append(session, tokens, stream.get());
    store.suspend(session, stream.get());
    device_copy = runtime.allocate_in(MemoryMode::device, blocks * shape.block_bytes());
    host_copy = runtime.allocate_in(MemoryMode::pinned_host, blocks * shape.block_bytes());
    GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
  }
  [[nodiscard]] double bytes() const { return static_cast<double>(blocks * shape.block_bytes()); }

  double batched() {
    const double s = seconds_of([&] {
      store.resume(session, stream.get());
      GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
    });
    store.suspend(session, stream.get());  // no copy: the host copy is kept
    return s;
  }
  // Until every layer is on the stream; first_layer receives when layer 0 was (the pipelining's gain).
  double layer_pipelined(double& first_layer) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<CompletionToken> layers = store.resume_by_layer(session, stream.get());
    (void)layers.front().wait();
    first_layer = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (auto& t : layers) t.make_stream_wait(stream.get());
    GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    store.suspend(session, stream.get());
    return s;
  }
  double run(RestoreWay way, double& first_layer) {
    switch (way) {
      case RestoreWay::batched: return batched();
      case RestoreWay::layer_pipelined: return layer_pipelined(first_layer);
      case RestoreWay::per_block_memcpy: return per_block_memcpy();
    }
    return 0;
  }
  double per_block_memcpy() {
    const std::size_t piece = shape.layer_block_bytes();
    auto* dst = static_cast<unsigned char*>(device_copy.data());
    const auto* src = static_cast<const unsigned char*>(host_copy.data());
    return seconds_of([&] {
      for (std::size_t offset = 0; offset < blocks * shape.block_bytes(); offset += piece) {
        GHTIER_CUDA_CHECK(cudaMemcpyAsync(dst + offset, src + offset, piece, cudaMemcpyHostToDevice, stream.get()));
      }
      GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
    });
  }
  double contiguous() {
    return seconds_of([&] {
      GHTIER_CUDA_CHECK(cudaMemcpyAsync(device_copy.data(), host_copy.data(), blocks * shape.block_bytes(),
                                        cudaMemcpyHostToDevice, stream.get()));
      GHTIER_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
    });
  }
};

void run_restore(benchmark::State& state, const BenchOptions& options, std::size_t tokens, RestoreWay way) {
  try {
    RestoreFixture f(options, tokens);
    (void)f.contiguous();  // warm-up
    double first_layer = 0;
    (void)f.run(way, first_layer);
    Samples measured, contiguous, first_layers;
    for (auto _ : state) {
      contiguous.add(f.contiguous());
      const double s = f.run(way, first_layer);
      first_layers.add(first_layer);
      measured.add(s);
      state.SetIterationTime(s);
    }
    state.counters["tokens"] = static_cast<double>(tokens);
    if (way == RestoreWay::layer_pipelined) state.counters["first_layer_us"] = first_layers.median() * 1e6;
    state.counters["target"] = 0.9;
    report_bandwidth(state, f.bytes(), measured, f.bytes() / contiguous.median() * 1e-9,
                     "one contiguous cudaMemcpyAsync of the same bytes, same run");
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void register_kv_cache(const BenchOptions& options) {
  const std::vector<std::size_t> lengths =
      options.quick ? std::vector<std::size_t>{2048, 8192} : std::vector<std::size_t>{2048, 8192, 32768};
  for (const std::size_t tokens : lengths) {
    for (const RestoreWay way : {RestoreWay::batched, RestoreWay::layer_pipelined, RestoreWay::per_block_memcpy}) {
      benchmark::RegisterBenchmark(fmt::format("kv_cache/restore/{}/{}", name_of(way), tokens).c_str(),
                                   [=](benchmark::State& s) { run_restore(s, options, tokens, way); })
          ->Iterations(options.quick ? 3 : 7)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace

GHTIER_BENCH_SUITE("kv_cache", register_kv_cache);

}  // namespace ghtier::bench
