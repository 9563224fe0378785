// The README's example, built and run by scripts/gpu-check so that the README stays true. It checks that
// the bytes arrived. --quick is accepted (the example is already small).
#include <cuda_runtime_api.h>

#include <cstdio>
#include <vector>

#include <ghtier/ghtier.hpp>

int main(int, char**) {
  try {
    // --- the README's code, as written there ---
    ghtier::Runtime runtime;  // detects the platform: coherent C2C (GH200), HMM, or plain PCIe
    runtime.set_budget(ghtier::MemoryMode::device, 40ull << 30);  // keep 40 GiB of HBM for ghtier's data
    ghtier::Buffer kv = runtime.allocate({.bytes = 8ull << 30,
                                          .frequency = ghtier::AccessFrequency::warm,
                                          .tag = "kv-cache"});  // HBM while the budget lasts, then the CPU tier
    ghtier::Buffer staging = runtime.allocate_in(ghtier::MemoryMode::device, 1ull << 30);
    // (not in the README: give the first GiB of the cache known contents, so the copy can be checked)
    if (cudaMemset(kv.data(), 0x5A, 1ull << 30) != cudaSuccess || cudaDeviceSynchronize() != cudaSuccess) return 1;
    ghtier::TransferEngine engine(runtime.platform(), runtime.device(), &runtime);  // one per GPU
    ghtier::CompletionToken done = engine.submit(ghtier::CopyRequest{
        .dst = staging.data(), .src = kv.data(), .bytes = 1ull << 30, .priority = ghtier::TransferPriority::urgent});
    if (done.wait() != ghtier::TransferStatus::completed) ghtier::throw_error(*done.error());  // or make_stream_wait
    // --- end of the README's code ---

    std::vector<unsigned char> tail(4096);
    if (cudaMemcpy(tail.data(), staging.data_as<unsigned char>() + (1ull << 30) - tail.size(), tail.size(),
                   cudaMemcpyDeviceToHost) != cudaSuccess) {
      return 1;
    }
    for (unsigned char c : tail) {
      if (c != 0x5A) {
        std::fprintf(stderr, "readme_example: the copied bytes are wrong\n");
        return 1;
      }
    }
    std::printf("readme_example: 8 GiB kv-cache in %s, 1 GiB copied to the device and checked\n",
                std::string(ghtier::to_string(kv.mode())).c_str());
    return 0;
  } catch (const ghtier::Error& e) {
    std::fprintf(stderr, "readme_example: %s\n", e.what());
    return e.code() == ghtier::ErrorCode::no_device ? 2 : 1;
  }
}
