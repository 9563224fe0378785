// Activation offload, end to end: plan a model's step for this GPU's link, then carry the plan out for a
// synthetic step (layers of tensors written on a compute stream, saved behind it, overwritten, prefetched a
// layer ahead and restored in reverse) and check every restored byte. `--quick`: fewer, smaller tensors.
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string_view>
#include <thread>
#include <vector>

#include "ghtier/error.hpp"
#include "ghtier/workloads/activation_offload.hpp"

namespace {

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    ghtier::throw_error(ghtier::ErrorCode::cuda_error, std::string(what) + ": " + cudaGetErrorString(status));
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
  const std::size_t layers = quick ? 4 : 16, tensors = quick ? 3 : 6, tensor_bytes = (quick ? 8u : 64u) << 20;
  try {
    ghtier::Runtime runtime;
    ghtier::TransferEngine engine(runtime.platform(), runtime.device(), &runtime);

    // 1. The plan for the reference model's step (0.95 B Llama shape, batch 4 x 4096, measured on an H200)
    //    on this GPU's link, at the memory that checkpointing every layer needs.
    ghtier::ActivationPlanRequest request;
    request.link = runtime.platform().link;
    request.layers.assign(16, ghtier::LayerProfile{0.092 / 16, 0.165 / 16, (std::size_t{22} << 30) / 16, 64u << 20});
    request.device_budget_bytes = ghtier::simulate_activation_step(request.layers, request.link,
                                                                   std::vector(16, ghtier::LayerAction::recompute), 0)
                                      .peak_device_bytes;
    const ghtier::ActivationPlan plan = ghtier::plan_activations(request);
    std::printf("%s\n", ghtier::describe_plan(request, plan).c_str());

    // 2. A synthetic step through the offloader: every tensor offloaded, then restored a layer ahead.
    ghtier::ActivationOffloader offloader(runtime, engine, {.host_arena_bytes = layers * tensors * tensor_bytes});
    cudaStream_t compute = nullptr;
    check(cudaStreamCreateWithFlags(&compute, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    std::mt19937_64 rng(42);
    std::vector<std::vector<unsigned char>> expected;
    std::vector<ghtier::Buffer> device;
    std::vector<ghtier::ActivationHandle> handles;
    ghtier::Buffer staging = runtime.allocate_in(ghtier::MemoryMode::pinned_host, tensor_bytes);
    for (std::size_t l = 0; l < layers; ++l) {
      offloader.begin_layer(l);
      for (std::size_t t = 0; t < tensors; ++t) {
        std::vector<unsigned char> data(tensor_bytes);
        for (auto& b : data) b = static_cast<unsigned char>(rng());
        check(cudaStreamSynchronize(compute), "cudaStreamSynchronize");  // staging is reused
        std::memcpy(staging.data(), data.data(), tensor_bytes);
        device.push_back(runtime.allocate_in(ghtier::MemoryMode::device, tensor_bytes));
        check(cudaMemcpyAsync(device.back().data(), staging.data(), tensor_bytes, cudaMemcpyHostToDevice, compute),
              "cudaMemcpyAsync");
        handles.push_back(offloader.save(device.back().data(), tensor_bytes, compute));
        expected.push_back(std::move(data));
      }
      offloader.end_layer();
    }
    for (std::size_t i = 0; i < handles.size(); ++i) {  // the device memory is reused once released
      while (!offloader.device_released(handles[i])) std::this_thread::yield();
      check(cudaMemset(device[i].data(), 0, tensor_bytes), "cudaMemset");
    }
    std::size_t wrong = 0;
    std::vector<unsigned char> back(tensor_bytes);
    for (std::size_t l = layers; l-- > 0;) {
      if (l > 0) (void)offloader.prefetch_layer(l - 1);
      for (std::size_t t = 0; t < tensors; ++t) {
        const std::size_t i = l * tensors + t;
        void* restored = offloader.restore(handles[i], compute);
        check(cudaMemcpyAsync(back.data(), restored, tensor_bytes, cudaMemcpyDeviceToHost, compute), "cudaMemcpyAsync");
        check(cudaStreamSynchronize(compute), "cudaStreamSynchronize");
        wrong += back != expected[i];
        offloader.release(handles[i]);
      }
    }
    engine.synchronize();
    const ghtier::ActivationOffloadStatistics stats = offloader.statistics();
    std::printf("offloaded %.2f GiB in %zu tensors, restored %.2f GiB, arena peak %.2f GiB, %zu wrong\n",
                static_cast<double>(stats.offloaded_bytes) / (1 << 30), handles.size(),
                static_cast<double>(stats.restored_bytes) / (1 << 30),
                static_cast<double>(stats.arena_peak_bytes) / (1 << 30), wrong);
    check(cudaStreamDestroy(compute), "cudaStreamDestroy");
    return wrong == 0 ? 0 : 1;
  } catch (const ghtier::Error& e) {
    std::fprintf(stderr, "activation_offload_training: %s\n", e.what());
    return e.code() == ghtier::ErrorCode::no_device ? 2 : 1;
  }
}
