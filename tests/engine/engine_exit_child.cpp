// A child process for engine_contracts_gpu_test: it exits with copies in flight in the way argv[1] names,
// and must end with status 0 and no signal (exit used to crash in static destructors or running threads).
//   leaked    engines and a runtime never destroyed; std::exit from main mid-copy
//   static    an engine and a runtime in static objects; return from main mid-copy
//   callback  std::exit from a completion callback while other copies are in flight
//   runtime   an engine over a runtime, copying the runtime's memory; std::exit from main mid-copy
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ghtier/engine/transfer_engine.hpp"
#include "ghtier/runtime/runtime.hpp"

namespace {

using namespace ghtier;

constexpr std::size_t MiB = std::size_t{1} << 20;
constexpr std::size_t copy_bytes = 512 * MiB;

// Destroyed in reverse order after main returns (after the engines' exit handler): engine, buffers, runtime.
std::unique_ptr<Runtime> static_runtime;
Buffer static_host;
Buffer static_device;
std::unique_ptr<TransferEngine> static_engine;

CopyRequest copy_of(void* dst, const void* src, std::size_t n) {
  CopyRequest request;
  request.dst = dst;
  request.src = src;
  request.bytes = n;
  return request;
}

void* device_bytes(std::size_t n) {
  void* p = nullptr;
  if (cudaMalloc(&p, n) != cudaSuccess) {
    std::fprintf(stderr, "cudaMalloc failed\n");
    std::_Exit(3);
  }
  return p;
}

// Pageable memory, written so its pages exist: staged copies go through the ring and the CPU threads.
void* pageable_bytes(std::size_t n) {
  void* p = std::malloc(n);
  if (p == nullptr) std::_Exit(3);
  std::memset(p, 0x5A, n);
  return p;
}

// Copies both ways through a fresh engine; the tokens are dropped (the copies stay in flight).
void start_copies(TransferEngine& engine, void* host, void* device) {
  (void)engine.submit(copy_of(device, host, copy_bytes));
  (void)engine.submit(copy_of(host, static_cast<const std::byte*>(device), copy_bytes / 2));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string mode = argv[1];
  try {
    if (mode == "leaked") {
      auto* engine = new TransferEngine(detect_platform(0), 0);
      auto* second = new TransferEngine(detect_platform(0), 0);
      start_copies(*engine, pageable_bytes(copy_bytes), device_bytes(copy_bytes));
      start_copies(*second, pageable_bytes(copy_bytes), device_bytes(copy_bytes));
      std::exit(0);
    }
    if (mode == "static") {
      static_runtime = std::make_unique<Runtime>();
      static_engine = std::make_unique<TransferEngine>(*static_runtime);
      static_host = static_runtime->allocate_in(MemoryMode::system, copy_bytes);
      static_device = static_runtime->allocate_in(MemoryMode::device, copy_bytes);
      std::memset(static_host.data(), 0x5A, copy_bytes);
      start_copies(*static_engine, static_host.data(), static_device.data());
      return 0;
    }
    if (mode == "callback") {
      auto* engine = new TransferEngine(detect_platform(0), 0);
      void* host = pageable_bytes(copy_bytes);
      void* device = device_bytes(copy_bytes);
      CopyRequest first = copy_of(device, host, 4 * MiB);
      first.priority = TransferPriority::urgent;
      first.on_complete = [](TransferStatus) { std::exit(0); };
      start_copies(*engine, host, device);
      (void)engine->submit(first);
      for (;;) engine->synchronize();  // the callback ends the process
    }
    if (mode == "runtime") {
      auto* runtime = new Runtime();
      auto* engine = new TransferEngine(*runtime);
      auto* host = new Buffer(runtime->allocate_in(MemoryMode::system, copy_bytes));
      auto* device = new Buffer(runtime->allocate_in(MemoryMode::device, copy_bytes));
      std::memset(host->data(), 0x5A, copy_bytes);
      start_copies(*engine, host->data(), device->data());
      std::exit(0);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engine_exit_child %s: %s\n", mode.c_str(), e.what());
    return 4;
  }
  return 2;
}
