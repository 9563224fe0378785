// KvCacheStore on the GPU: sessions of fresh random bytes written into their device blocks, suspended (device
// blocks poisoned once freed), resumed into other blocks and compared byte for byte; a fork's copy on write;
// a second suspend copies nothing; a full host tier refused with nothing lost; statistics exact; drop waits
// for a restore still writing the blocks it frees.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "ghtier/workloads/kv_cache.hpp"
#include "test_support.hpp"
#include "workload_gpu_test.hpp"

namespace ghtier {
namespace {

#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << #call

class KvCacheStoreGpu : public test::KvStoreGpuTest {
 protected:
  void TearDown() override {
    store_.reset();
    KvStoreGpuTest::TearDown();
  }
  void make_store(std::size_t device_blocks, std::size_t host_blocks) {
    store_ =
        std::make_unique<KvCacheStore>(*runtime_, *engine_, KvCacheOptions{small_shape(), device_blocks, host_blocks});
  }
  std::size_t block_bytes() const { return small_shape().block_bytes(); }
  std::vector<unsigned char> fill(KvSessionId s, std::mt19937_64& rng) { return KvStoreGpuTest::fill(*store_, s, rng); }
  std::vector<unsigned char> read(KvSessionId s) { return KvStoreGpuTest::read(*store_, s); }
  void poison_device_pool(std::size_t device_blocks) { poison(*store_, device_blocks); }

  std::unique_ptr<KvCacheStore> store_;
};

TEST_F(KvCacheStoreGpu, SuspendResumeRoundTripsEveryByte) {
  std::mt19937_64 rng = test::fresh_rng();
  make_store(64, 256);
  std::map<KvSessionId, std::vector<unsigned char>> expected;
  for (int i = 0; i < 6; ++i) {
    const KvSessionId s = store_->create();
    (void)store_->append(s, 1 + rng() % 40, stream_);
    expected[s] = fill(s, rng);
  }
  for (auto& [s, bytes] : expected) store_->suspend(s, stream_);
  // Poisoning the whole pool (after the suspend copies) proves that restores come from the host tier.
  const KvSessionId probe = store_->create();
  store_->drop(probe);  // drop waits for the suspend copies
  poison_device_pool(64);
  for (auto& [s, bytes] : expected) {
    store_->resume(s, stream_);
    EXPECT_EQ(read(s), bytes) << "session " << s;
  }
  // Host copies are kept: a second suspend copies nothing.
  const auto before = store_->statistics().suspended_bytes;
  for (auto& [s, bytes] : expected) store_->suspend(s, stream_);
  EXPECT_EQ(store_->statistics().suspended_bytes, before);
}

TEST_F(KvCacheStoreGpu, LayerPipelinedResumeRoundTripsEveryByte) {
  std::mt19937_64 rng = test::fresh_rng();
  make_store(32, 64);
  const KvSessionId s = store_->create();
  (void)store_->append(s, 37, stream_);
  const auto bytes = fill(s, rng);
  store_->suspend(s, stream_);
  const KvSessionId probe = store_->create();
  store_->drop(probe);  // waits for the suspend copy
  poison_device_pool(32);
  std::vector<CompletionToken> layers = store_->resume_by_layer(s, stream_);
  ASSERT_EQ(layers.size(), small_shape().layers);
  for (auto& t : layers) {
    ASSERT_TRUE(t.valid());
    t.make_stream_wait(stream_);
  }
  EXPECT_EQ(read(s), bytes);
  // Resident again: a second layered resume is refused (not suspended), the data untouched.
  EXPECT_GHTIER_ERROR((void)store_->resume_by_layer(s, stream_), ErrorCode::invalid_argument);
  EXPECT_EQ(read(s), bytes);
}

TEST_F(KvCacheStoreGpu, ForkCopiesASharedPartlyFilledBlockOnWrite) {
  std::mt19937_64 rng = test::fresh_rng();
  make_store(16, 16);
  const KvSessionId a = store_->create();
  (void)store_->append(a, 6, stream_);  // 2 blocks, the second half full
  const auto bytes = fill(a, rng);
  const KvSessionId b = store_->fork(a);
  (void)store_->append(b, 1, stream_);  // copies the second block for b
  EXPECT_EQ(read(b), bytes);
  EXPECT_NE(store_->block_table(a)[1], store_->block_table(b)[1]);
  EXPECT_EQ(store_->block_table(a)[0], store_->block_table(b)[0]);
}

TEST_F(KvCacheStoreGpu, FullHostTierIsRefusedAndLosesNothing) {
  std::mt19937_64 rng = test::fresh_rng();
  make_store(16, 2);
  const KvSessionId a = store_->create(), b = store_->create();
  (void)store_->append(a, 8, stream_);  // 2 blocks
  (void)store_->append(b, 4, stream_);
  const auto bytes_b = fill(b, rng);
  // a suspended while a fork still uses its blocks: they stay on the device and their host copies (which a
  // needs) cannot be dropped. (An active session's kept host copies could: they cost only a later copy.)
  const KvSessionId f = store_->fork(a);
  store_->suspend(a, stream_);
  EXPECT_GHTIER_ERROR(store_->suspend(b, stream_), ErrorCode::out_of_budget);
  EXPECT_EQ(store_->block_table(f).size(), 2u);
  EXPECT_FALSE(store_->suspended(b));
  EXPECT_EQ(read(b), bytes_b);
  EXPECT_GHTIER_ERROR((void)store_->block_table(999), ErrorCode::not_found);
  EXPECT_GHTIER_ERROR(store_->resume(b, stream_), ErrorCode::invalid_argument);
}

// 16 threads, each with its own stream and sessions, on one store under pressure on both tiers: every resumed
// session reads back exactly its bytes (up to the blocks that host pressure left it), and in the end every
// block is free again.
TEST_F(KvCacheStoreGpu, SixteenThreadsUnderPressure) {
  make_store(96, 160);
  const std::size_t bb = block_bytes();
  auto* pool = static_cast<unsigned char*>(store_->device_pool());
  std::mt19937_64 seeds = test::fresh_rng();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, seed = seeds()] {
      std::mt19937_64 rng(seed);
      cudaStream_t stream = nullptr;
      if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess) {
        ++failures;
        return;
      }
      std::map<KvSessionId, std::vector<unsigned char>> mine;  // expected bytes of each session's blocks
      const auto write_all = [&](KvSessionId s) {
        const auto table = store_->block_table(s);
        std::vector<unsigned char> bytes(table.size() * bb);
        for (auto& b : bytes) b = static_cast<unsigned char>(rng());
        for (std::size_t i = 0; i < table.size(); ++i) {
          (void)cudaMemcpyAsync(pool + table[i] * bb, bytes.data() + i * bb, bb, cudaMemcpyHostToDevice, stream);
        }
        (void)cudaStreamSynchronize(stream);
        mine[s] = bytes;
      };
      const auto check = [&](KvSessionId s) {
        const auto table = store_->block_table(s);
        std::vector<unsigned char>& expected = mine[s];
        if (table.size() * bb > expected.size()) {
          ++failures;
          ADD_FAILURE() << "session " << s << " grew";
          return;
        }
        expected.resize(table.size() * bb);  // host pressure may have cut its tail
        std::vector<unsigned char> got(expected.size());
        for (std::size_t i = 0; i < table.size(); ++i) {
          (void)cudaMemcpyAsync(got.data() + i * bb, pool + table[i] * bb, bb, cudaMemcpyDeviceToHost, stream);
        }
        (void)cudaStreamSynchronize(stream);
        if (got != expected) {
          ++failures;
          ADD_FAILURE() << "session " << s << " lost its bytes";
        }
      };
      for (int step = 0; step < 60 && failures == 0; ++step) {
        try {
          const int op = static_cast<int>(rng() % 10);
          if (mine.empty() || op < 3) {
            const KvSessionId s = store_->create(static_cast<int>(rng() % 3));
            mine[s];
            (void)store_->append(s, 1 + rng() % 24, stream);
            write_all(s);
            continue;
          }
          auto it = mine.begin();
          std::advance(it, static_cast<long>(rng() % mine.size()));
          const KvSessionId s = it->first;
          if (op < 9 && store_->suspended(s)) {
            store_->resume(s, stream);
            check(s);
          } else if (op < 9) {
            store_->suspend(s, stream);
          } else {
            store_->drop(s);
            mine.erase(s);
          }
        } catch (const Error& e) {
          if (e.code() != ErrorCode::out_of_budget) {
            ++failures;
            ADD_FAILURE() << e.what();
          }
        }
      }
      for (auto& [s, bytes] : mine) store_->drop(s);
      (void)cudaStreamDestroy(stream);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  const KvCacheStatistics stats = store_->statistics();
  EXPECT_EQ(stats.sessions, 0u);
  EXPECT_EQ(stats.host_blocks_used, 0u);
  EXPECT_EQ(stats.device_blocks_used, 0u);
}

// Regression: drop did not wait for a restore still copying into the session's device blocks, so a new
// session given those blocks could have its bytes overwritten by the late restore.
TEST_F(KvCacheStoreGpu, DropWaitsForARestoreStillWritingItsBlocks) {
  std::mt19937_64 rng = test::fresh_rng();
  const KvBlockShape big{16, 32, 8, 16, 2};  // 256 KiB blocks
  const std::size_t blocks = 128, bb = big.block_bytes();
  KvCacheStore store(*runtime_, *engine_, KvCacheOptions{big, blocks, blocks});
  cudaStream_t other = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&other, cudaStreamNonBlocking));
  for (int round = 0; round < 5; ++round) {
    const KvSessionId s = store.create();
    (void)store.append(s, blocks * big.tokens_per_block, stream_);
    CUDA_OK(cudaMemsetAsync(store.device_pool(), 0xAA, blocks * bb, stream_));
    CUDA_OK(cudaStreamSynchronize(stream_));
    store.suspend(s, stream_);
    store.drop(store.create());  // waits for the suspend copy
    store.resume(s, stream_);    // 32 MiB of 0xAA on their way back
    store.drop(s);
    const KvSessionId t = store.create();
    (void)store.append(t, blocks * big.tokens_per_block, other);  // the same device blocks
    std::vector<unsigned char> mine(blocks * bb);
    for (auto& c : mine) c = static_cast<unsigned char>(rng() | 1);  // never 0xAA's pattern in full
    const auto table = store.block_table(t);
    auto* pool = static_cast<unsigned char*>(store.device_pool());
    for (std::size_t i = 0; i < table.size(); ++i) {
      CUDA_OK(cudaMemcpyAsync(pool + table[i] * bb, mine.data() + i * bb, bb, cudaMemcpyHostToDevice, other));
    }
    CUDA_OK(cudaStreamSynchronize(other));
    CUDA_OK(cudaDeviceSynchronize());
    std::vector<unsigned char> got(blocks * bb);
    for (std::size_t i = 0; i < table.size(); ++i) {
      CUDA_OK(cudaMemcpy(got.data() + i * bb, pool + table[i] * bb, bb, cudaMemcpyDeviceToHost));
    }
    ASSERT_EQ(got, mine) << "round " << round << ": a late restore overwrote a new session's blocks";
    store.drop(t);
  }
  CUDA_OK(cudaStreamDestroy(other));
}

TEST_F(KvCacheStoreGpu, RefusesBadOptions) {
  EXPECT_GHTIER_ERROR(KvCacheStore(*runtime_, *engine_, KvCacheOptions{small_shape(), 0, 4}),
                      ErrorCode::invalid_argument);
  KvBlockShape bad = small_shape();
  bad.head_dim = 0;
  EXPECT_GHTIER_ERROR(KvCacheStore(*runtime_, *engine_, KvCacheOptions{bad, 4, 4}), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace ghtier
