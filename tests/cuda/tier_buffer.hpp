// TierBuffer: test memory in one tier (device, pinned host, managed, system malloc), with upload, download
// and poisoning, so that the GPU tests of the direct-access kernels can run every tier the same way.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ghtier::test {

enum class Tier { device, pinned, managed, system };

inline const char* to_string(Tier tier) {
  switch (tier) {
    case Tier::device: return "device";
    case Tier::pinned: return "pinned";
    case Tier::managed: return "managed";
    case Tier::system: return "system";
  }
  return "unknown";
}

/// Throws std::runtime_error naming the call when a CUDA call of the test itself fails.
inline void test_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(call) + ": " + cudaGetErrorString(status));
}
#define TEST_CUDA(call) ::ghtier::test::test_cuda((call), #call)

/// Whether the current device can dereference memory of `tier` (system memory needs ATS or HMM).
inline bool gpu_reaches(Tier tier) {
  if (tier != Tier::system) return true;
  int device = 0;
  int pageable = 0;
  TEST_CUDA(cudaGetDevice(&device));
  TEST_CUDA(cudaDeviceGetAttribute(&pageable, cudaDevAttrPageableMemoryAccess, device));
  return pageable != 0;
}

class TierBuffer {
 public:
  /// `bytes` usable bytes (at least 16 are allocated), 256-byte aligned.
  TierBuffer(Tier tier, std::size_t bytes) : tier_(tier), bytes_(bytes) {
    const std::size_t n = bytes < 16 ? 16 : bytes;
    void* p = nullptr;
    switch (tier) {
      case Tier::device: TEST_CUDA(cudaMalloc(&p, n)); break;
      case Tier::pinned: TEST_CUDA(cudaMallocHost(&p, n)); break;
      case Tier::managed: TEST_CUDA(cudaMallocManaged(&p, n, cudaMemAttachGlobal)); break;
      case Tier::system:
        p = std::aligned_alloc(256, (n + 255) / 256 * 256);
        if (p == nullptr) throw std::bad_alloc();
        break;
    }
    data_ = static_cast<unsigned char*>(p);
  }
  TierBuffer(TierBuffer&& other) noexcept
      : tier_(other.tier_), bytes_(other.bytes_), data_(std::exchange(other.data_, nullptr)) {}
  ~TierBuffer() {
    if (data_ == nullptr) return;
    switch (tier_) {
      case Tier::device: cudaFree(data_); break;
      case Tier::pinned: cudaFreeHost(data_); break;
      case Tier::managed: cudaFree(data_); break;
      case Tier::system: std::free(data_); break;
    }
  }
  TierBuffer(const TierBuffer&) = delete;
  TierBuffer& operator=(const TierBuffer&) = delete;

  [[nodiscard]] unsigned char* data() const { return data_; }
  [[nodiscard]] std::size_t size() const { return bytes_; }
  [[nodiscard]] Tier tier() const { return tier_; }

  /// Copies host bytes in at `offset` (waits for the device first, so no kernel still uses the buffer).
  void upload(const void* host, std::size_t bytes, std::size_t offset = 0) {
    TEST_CUDA(cudaDeviceSynchronize());
    if (bytes > 0) TEST_CUDA(cudaMemcpy(data_ + offset, host, bytes, cudaMemcpyDefault));
    // From pageable memory cudaMemcpy returns once staged: landed before a non-blocking stream reads it.
    TEST_CUDA(cudaDeviceSynchronize());
  }
  /// Copies `bytes` at `offset` out, after the device is idle.
  [[nodiscard]] std::vector<unsigned char> download(std::size_t offset, std::size_t bytes) const {
    TEST_CUDA(cudaDeviceSynchronize());
    std::vector<unsigned char> host(bytes);
    if (bytes > 0) TEST_CUDA(cudaMemcpy(host.data(), data_ + offset, bytes, cudaMemcpyDefault));
    return host;
  }
  [[nodiscard]] std::vector<unsigned char> download() const { return download(0, bytes_); }
  /// Fills every usable byte with `value`.
  void poison(unsigned char value = 0xA5) {
    TEST_CUDA(cudaDeviceSynchronize());
    if (tier_ == Tier::device || tier_ == Tier::managed) {
      TEST_CUDA(cudaMemset(data_, value, bytes_));
      TEST_CUDA(cudaDeviceSynchronize());
    } else {
      std::memset(data_, value, bytes_);
    }
  }

 private:
  Tier tier_;
  std::size_t bytes_;
  unsigned char* data_ = nullptr;
};

/// A CUDA stream for one test (a blocking stream, so that cudaMemcpy on the legacy stream orders after it).
class TestStream {
 public:
  TestStream() { TEST_CUDA(cudaStreamCreate(&stream_)); }
  ~TestStream() { cudaStreamDestroy(stream_); }
  TestStream(const TestStream&) = delete;
  TestStream& operator=(const TestStream&) = delete;
  [[nodiscard]] cudaStream_t get() const { return stream_; }
  void sync() const { TEST_CUDA(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

}  // namespace ghtier::test
