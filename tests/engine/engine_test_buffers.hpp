// Test memory for the engine's GPU tests: a buffer in one memory mode (device, pinned, managed, system
// malloc) with poison guards around the part a test copies into, and byte access from the host whatever
// the mode, so that every tier pair is checked the same way.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "ghtier/engine/transfer_request.hpp"
#include "ghtier/memory/memory_mode.hpp"
#include "test_support.hpp"

namespace ghtier::test {

inline void engine_test_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(call) + ": " + cudaGetErrorString(status));
}
#define ENGINE_TEST_CUDA(call) ::ghtier::test::engine_test_cuda((call), #call)

inline constexpr unsigned char poison_byte = 0xA5;

/// A background copy request of n bytes (the other fields at their defaults).
inline CopyRequest copy_of(void* dst, const void* src, std::size_t n) {
  CopyRequest request;
  request.dst = dst;
  request.src = src;
  request.bytes = n;
  return request;
}

class ModeBuffer {
 public:
  ModeBuffer(MemoryMode mode, std::size_t bytes) : mode_(mode), bytes_(bytes < 1 ? 1 : bytes) {
    void* p = nullptr;
    switch (mode) {
      case MemoryMode::device: ENGINE_TEST_CUDA(cudaMalloc(&p, bytes_)); break;
      case MemoryMode::pinned_host: ENGINE_TEST_CUDA(cudaMallocHost(&p, bytes_)); break;
      case MemoryMode::managed: ENGINE_TEST_CUDA(cudaMallocManaged(&p, bytes_, cudaMemAttachGlobal)); break;
      case MemoryMode::system:
        p = std::aligned_alloc(4096, (bytes_ + 4095) / 4096 * 4096);
        if (p == nullptr) throw std::bad_alloc();
        break;
    }
    data_ = static_cast<unsigned char*>(p);
  }
  ~ModeBuffer() {
    switch (mode_) {
      case MemoryMode::device:
      case MemoryMode::managed: (void)cudaFree(data_); break;
      case MemoryMode::pinned_host: (void)cudaFreeHost(data_); break;
      case MemoryMode::system: std::free(data_); break;
    }
  }
  ModeBuffer(const ModeBuffer&) = delete;
  ModeBuffer& operator=(const ModeBuffer&) = delete;

  [[nodiscard]] unsigned char* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_; }
  [[nodiscard]] MemoryMode mode() const noexcept { return mode_; }

  /// Writes `bytes` at `offset` from the host (cudaMemcpy for device memory).
  void upload(std::size_t offset, const unsigned char* src, std::size_t n) {
    if (mode_ == MemoryMode::device) {
      ENGINE_TEST_CUDA(cudaMemcpy(data_ + offset, src, n, cudaMemcpyHostToDevice));
      ENGINE_TEST_CUDA(cudaDeviceSynchronize());  // from pageable memory cudaMemcpy returns once staged
    } else {
      ENGINE_TEST_CUDA(cudaDeviceSynchronize());  // managed pages may be on the GPU
      std::memcpy(data_ + offset, src, n);
    }
  }
  /// Fills the whole buffer with the poison byte.
  void poison() {
    if (mode_ == MemoryMode::device) {
      ENGINE_TEST_CUDA(cudaMemset(data_, poison_byte, bytes_));
      ENGINE_TEST_CUDA(cudaDeviceSynchronize());
    } else {
      ENGINE_TEST_CUDA(cudaDeviceSynchronize());
      std::memset(data_, poison_byte, bytes_);
    }
  }
  /// The whole buffer, read on the host.
  [[nodiscard]] std::vector<unsigned char> download() const {
    std::vector<unsigned char> out(bytes_);
    ENGINE_TEST_CUDA(cudaDeviceSynchronize());
    if (mode_ == MemoryMode::device) {
      ENGINE_TEST_CUDA(cudaMemcpy(out.data(), data_, bytes_, cudaMemcpyDeviceToHost));
    } else {
      std::memcpy(out.data(), data_, bytes_);
    }
    return out;
  }

 private:
  MemoryMode mode_;
  std::size_t bytes_;
  unsigned char* data_ = nullptr;
};

/// Checks that `got` holds `expected` at `offset` and the poison byte everywhere else.
inline ::testing::AssertionResult holds_exactly(const std::vector<unsigned char>& got, std::size_t offset,
                                                const unsigned char* expected, std::size_t n) {
  for (std::size_t i = 0; i < offset; ++i) {
    if (got[i] != poison_byte) return ::testing::AssertionFailure() << "byte " << i << " before the copy was written";
  }
  if (std::memcmp(got.data() + offset, expected, n) != 0) {
    std::size_t first = 0;
    while (got[offset + first] == expected[first]) ++first;
    return ::testing::AssertionFailure() << "copied bytes differ, first at " << first << " of " << n;
  }
  for (std::size_t i = offset + n; i < got.size(); ++i) {
    if (got[i] != poison_byte) {
      return ::testing::AssertionFailure() << "byte " << i - offset - n << " past the copy was written";
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace ghtier::test
