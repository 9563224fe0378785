// The workload GPU tests' fixtures: WorkloadGpuTest (a runtime, an engine of its own over it, as the workloads'
// C API makes one, and a non-blocking stream; skips without a GPU), and KvStoreGpuTest, which adds the KV
// store tests' block I/O: fresh random bytes written into a session's device blocks, read back, and the
// device pool poisoned.
#pragma once

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <random>
#include <vector>

#include "ghtier/engine/transfer_engine.hpp"
#include "ghtier/runtime/runtime.hpp"
#include "ghtier/workloads/kv_cache.hpp"
#include "test_support.hpp"

namespace ghtier::test {

class WorkloadGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GHTIER_REQUIRE_GPU();
    runtime_ = std::make_unique<Runtime>();
    engine_ = std::make_unique<TransferEngine>(runtime_->platform(), runtime_->device(), runtime_.get());
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
  }
  void TearDown() override {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<TransferEngine> engine_;
  cudaStream_t stream_ = nullptr;
};

class KvStoreGpuTest : public WorkloadGpuTest {
 protected:
  /// 1 KiB blocks: 4 tokens x 2 layers x 2 KV heads x 16 x 2 bytes.
  static KvBlockShape small_shape() { return KvBlockShape{4, 2, 2, 16, 2}; }

  /// Writes random bytes into every block of the session; returns them in block table order.
  std::vector<unsigned char> fill(KvCacheStore& store, KvSessionId s, std::mt19937_64& rng) {
    const std::size_t bb = store.shape().block_bytes();
    const auto table = store.block_table(s);
    std::vector<unsigned char> bytes(table.size() * bb);
    for (auto& b : bytes) b = static_cast<unsigned char>(rng());
    auto* pool = static_cast<unsigned char*>(store.device_pool());
    for (std::size_t i = 0; i < table.size(); ++i) {
      EXPECT_EQ(cudaMemcpyAsync(pool + table[i] * bb, bytes.data() + i * bb, bb, cudaMemcpyHostToDevice, stream_),
                cudaSuccess);
    }
    EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    return bytes;
  }
  /// The session's blocks in table order (0xA5 where a copy failed).
  std::vector<unsigned char> read(KvCacheStore& store, KvSessionId s) {
    const std::size_t bb = store.shape().block_bytes();
    const auto table = store.block_table(s);
    std::vector<unsigned char> bytes(table.size() * bb, 0xA5);
    const auto* pool = static_cast<const unsigned char*>(store.device_pool());
    for (std::size_t i = 0; i < table.size(); ++i) {
      EXPECT_EQ(cudaMemcpyAsync(bytes.data() + i * bb, pool + table[i] * bb, bb, cudaMemcpyDeviceToHost, stream_),
                cudaSuccess);
    }
    EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    return bytes;
  }
  /// Overwrites the first `device_blocks` blocks of the device pool once the store's copies are done.
  void poison(KvCacheStore& store, std::size_t device_blocks) {
    engine_->synchronize();
    ASSERT_EQ(cudaMemset(store.device_pool(), 0xEE, device_blocks * store.shape().block_bytes()), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);  // the store's copies do not wait for the legacy stream
  }
};

}  // namespace ghtier::test
