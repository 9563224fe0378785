// KvCacheStore's prefix reuse and file tier on the GPU, byte for byte: an adopted prefix shares the owner's
// device blocks; host pressure moves registered blocks to files and a resume brings every byte back; a
// second store over the same directory (another process) rebuilds a prefix from the files alone into a
// poisoned device pool; a corrupt block file ends the prefix there (no wrong byte, no other session lost);
// expiry drops before priority; the C API does the same round trip.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ghtier/ghtier_workloads.h"
#include "ghtier/log.hpp"
#include "ghtier/workloads/kv_block_hash.hpp"
#include "ghtier/workloads/kv_cache.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

namespace fs = std::filesystem;

#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << #call

constexpr std::string_view salt = "gpu-test-model";

KvBlockShape small_shape() { return KvBlockShape{4, 2, 2, 16, 2}; }  // 1 KiB blocks

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("ghtier-kv-gpu-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::vector<std::int32_t> random_ids(std::size_t n, std::mt19937_64& rng) {
  std::vector<std::int32_t> ids(n);
  for (auto& v : ids) v = static_cast<std::int32_t>(rng() % 128000);
  return ids;
}

class KvCacheFilesGpu : public ::testing::Test {
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
  std::unique_ptr<KvCacheStore> make_store(std::size_t device_blocks, std::size_t host_blocks,
                                           const fs::path& directory, std::size_t file_blocks = 0) {
    KvCacheOptions o{small_shape(), device_blocks, host_blocks};
    o.file_directory = directory.string();
    o.file_blocks = file_blocks;
    return std::make_unique<KvCacheStore>(*runtime_, *engine_, o);
  }
  static std::size_t bb() { return small_shape().block_bytes(); }
  std::vector<unsigned char> fill(KvCacheStore& store, KvSessionId s, std::mt19937_64& rng) {
    const auto table = store.block_table(s);
    std::vector<unsigned char> bytes(table.size() * bb());
    for (auto& b : bytes) b = static_cast<unsigned char>(rng());
    auto* pool = static_cast<unsigned char*>(store.device_pool());
    for (std::size_t i = 0; i < table.size(); ++i) {
      EXPECT_EQ(cudaMemcpyAsync(pool + table[i] * bb(), bytes.data() + i * bb(), bb(), cudaMemcpyHostToDevice, stream_),
                cudaSuccess);
    }
    EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    return bytes;
  }
  std::vector<unsigned char> read(KvCacheStore& store, KvSessionId s) {
    const auto table = store.block_table(s);
    std::vector<unsigned char> bytes(table.size() * bb(), 0xA5);
    const auto* pool = static_cast<const unsigned char*>(store.device_pool());
    for (std::size_t i = 0; i < table.size(); ++i) {
      EXPECT_EQ(cudaMemcpyAsync(bytes.data() + i * bb(), pool + table[i] * bb(), bb(), cudaMemcpyDeviceToHost, stream_),
                cudaSuccess);
    }
    EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    return bytes;
  }
  void poison(KvCacheStore& store, std::size_t device_blocks) {
    engine_->synchronize();
    CUDA_OK(cudaMemset(store.device_pool(), 0xEE, device_blocks * bb()));
    CUDA_OK(cudaDeviceSynchronize());
  }
  // A session of `ids` (random KV bytes), registered; returns its bytes.
  std::vector<unsigned char> stored_session(KvCacheStore& store, KvSessionId s, const std::vector<std::int32_t>& ids,
                                            std::mt19937_64& rng) {
    (void)store.append(s, ids.size(), stream_);
    auto bytes = fill(store, s, rng);
    store.register_prefix(s, ids, salt);
    return bytes;
  }
  // Fills the host tier of `store` with an unregistered session of `blocks` blocks and suspends it, so
  // that host pressure spills registered blocks to files.
  void press_host(KvCacheStore& store, std::size_t blocks, std::mt19937_64& rng) {
    const KvSessionId filler = store.create();
    (void)store.append(filler, blocks * small_shape().tokens_per_block, stream_);
    (void)fill(store, filler, rng);
    store.suspend(filler, stream_);
  }

  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<TransferEngine> engine_;
  cudaStream_t stream_ = nullptr;
};

TEST_F(KvCacheFilesGpu, AnAdoptedPrefixSharesTheOwnersDeviceBlocks) {
  TempDir dir;
  std::mt19937_64 rng = test::fresh_rng();
  auto store = make_store(32, 32, dir.path);
  const auto ids = random_ids(22, rng);  // 5 full blocks and 2 tokens
  const KvSessionId a = store->create();
  const auto bytes = stored_session(*store, a, ids, rng);
  auto query = ids;
  query.resize(20);
  query.push_back(7);  // a new turn after the shared 20
  const KvPrefixLookup found = store->lookup_prefix(query, salt);
  EXPECT_EQ(found.cached_tokens, 20u);
  EXPECT_EQ(found.tiers, std::vector<KvTier>(5, KvTier::device));
  EXPECT_EQ(store->lookup_prefix(query, "another-model").cached_tokens, 0u);
  const KvPrefixSession b = store->create_from_prefix(query, salt, 0, stream_);
  EXPECT_EQ(b.cached_tokens, 20u);
  const auto ta = store->block_table(a), tb = store->block_table(b.session);
  EXPECT_EQ(std::vector<std::uint32_t>(ta.begin(), ta.begin() + 5), tb);
  EXPECT_EQ(read(*store, b.session), std::vector<unsigned char>(bytes.begin(), bytes.begin() + 5 * bb()));
  EXPECT_EQ(store->statistics().device_blocks_used, 6u);  // nothing copied
}

TEST_F(KvCacheFilesGpu, HostPressureMovesRegisteredBlocksToFilesAndResumeRestoresEveryByte) {
  TempDir dir;
  std::mt19937_64 rng = test::fresh_rng();
  auto store = make_store(32, 4, dir.path);
  const auto ids = random_ids(16, rng);  // 4 full blocks
  const KvSessionId a = store->create();
  const auto bytes = stored_session(*store, a, ids, rng);
  store->suspend(a, stream_);
  press_host(*store, 4, rng);  // a's 4 host blocks go to files
  KvCacheStatistics stats = store->statistics();
  EXPECT_EQ(stats.file_blocks_used, 4u);
  EXPECT_EQ(stats.file_written_bytes, 4 * bb());
  EXPECT_EQ(store->lookup_prefix(ids, salt).tiers, std::vector<KvTier>(4, KvTier::file));
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path)) files += entry.path().extension() == ".kvb" ? 1 : 0;
  EXPECT_EQ(files, 4u);
  poison(*store, 32);
  store->resume(a, stream_);  // the filler's host blocks (no hash: dropped) make room for the reads
  EXPECT_EQ(store->tokens(a), 16u);
  EXPECT_EQ(read(*store, a), bytes);
  EXPECT_EQ(store->statistics().file_read_bytes, 4 * bb());
}

TEST_F(KvCacheFilesGpu, ASecondStoreRebuildsThePrefixFromTheFilesAlone) {
  TempDir dir;
  std::mt19937_64 rng = test::fresh_rng();
  const auto ids = random_ids(24, rng);  // 6 blocks
  std::vector<unsigned char> bytes;
  {
    auto first = make_store(16, 6, dir.path);
    const KvSessionId a = first->create();
    bytes = stored_session(*first, a, ids, rng);
    first->suspend(a, stream_);
    press_host(*first, 6, rng);
    ASSERT_EQ(first->statistics().file_blocks_used, 6u);
  }  // the first "process" ends; its files stay
  auto second = make_store(16, 8, dir.path);
  poison(*second, 16);
  EXPECT_EQ(second->lookup_prefix(ids, salt).tiers, std::vector<KvTier>(6, KvTier::file));
  const KvPrefixSession b = second->create_from_prefix(ids, salt, 0, stream_);
  EXPECT_EQ(b.cached_tokens, 24u);
  EXPECT_EQ(read(*second, b.session), bytes);
  EXPECT_EQ(second->statistics().file_read_bytes, 6 * bb());
}

TEST_F(KvCacheFilesGpu, ACorruptBlockFileEndsThePrefixThereAndLosesNoOtherSession) {
  TempDir dir;
  std::mt19937_64 rng = test::fresh_rng();
  const auto ids = random_ids(16, rng);  // 4 blocks
  std::vector<unsigned char> bytes;
  {
    auto first = make_store(16, 4, dir.path);
    const KvSessionId a = first->create();
    bytes = stored_session(*first, a, ids, rng);
    first->suspend(a, stream_);
    press_host(*first, 4, rng);
  }
  // Flip one payload byte of the third block's file.
  const auto hashes = kv_prefix_hashes(ids, small_shape().tokens_per_block, salt);
  const fs::path bad = dir.path / fmt::format("{:016x}.kvb", hashes[2]);
  ASSERT_TRUE(fs::exists(bad));
  {
    std::fstream f(bad, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(64 + 100);
    const char c = static_cast<char>(f.get() ^ 0xff);
    f.seekp(64 + 100);
    f.put(c);
  }
  auto second = make_store(16, 8, dir.path);
  const KvSessionId other = second->create();
  (void)second->append(other, 9, stream_);
  const auto other_bytes = fill(*second, other, rng);
  std::vector<std::string> warnings;
  set_log_sink([&](LogLevel level, std::string_view m) {
    if (level == LogLevel::warn) warnings.emplace_back(m);
  });
  const KvPrefixSession b = second->create_from_prefix(ids, salt, 0, stream_);
  set_log_sink({});
  EXPECT_EQ(b.cached_tokens, 8u);  // the first two blocks
  EXPECT_EQ(read(*second, b.session), std::vector<unsigned char>(bytes.begin(), bytes.begin() + 2 * bb()));
  EXPECT_EQ(read(*second, other), other_bytes);
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings.front().find("checksum"), std::string::npos) << warnings.front();
  EXPECT_FALSE(fs::exists(bad));  // not found again
}

TEST_F(KvCacheFilesGpu, AnExpiredSessionIsDroppedBeforeAHigherPriorityOne) {
  TempDir dir;
  std::mt19937_64 rng = test::fresh_rng();
  auto store = make_store(16, 4, dir.path);
  const KvSessionId a = store->create(5), b = store->create(0);
  (void)stored_session(*store, a, random_ids(8, rng), rng);
  const auto bytes_b = stored_session(*store, b, random_ids(8, rng), rng);
  store->set_expiry(a, std::chrono::nanoseconds(0));
  store->suspend(a, stream_);
  store->suspend(b, stream_);
  press_host(*store, 2, rng);  // two blocks must leave the host: a's, dropped, not written
  EXPECT_EQ(store->tokens(a), 0u);
  EXPECT_EQ(store->tokens(b), 8u);
  EXPECT_EQ(store->statistics().file_written_bytes, 0u);
  store->resume(b, stream_);
  EXPECT_EQ(read(*store, b), bytes_b);
  EXPECT_GHTIER_ERROR(store->set_expiry(a, std::chrono::nanoseconds(-1)), ErrorCode::invalid_argument);
}

TEST_F(KvCacheFilesGpu, CApiRoundTripThroughTheFileTier) {
  TempDir dir;
  std::mt19937_64 rng = test::fresh_rng();
  ghtier_runtime_t* runtime = nullptr;
  ASSERT_EQ(ghtier_runtime_create(nullptr, &runtime), GHTIER_SUCCESS) << ghtier_error_message();
  ghtier_kv_cache_options_t o{};
  o.struct_size = sizeof(o);
  o.shape = {4, 2, 2, 16, 2};
  o.device_blocks = 16;
  o.host_blocks = 2;
  const std::string directory = dir.path.string();
  o.file_directory = directory.c_str();
  ghtier_kv_cache_t* cache = nullptr;
  ASSERT_EQ(ghtier_kv_cache_create(runtime, &o, &cache), GHTIER_SUCCESS) << ghtier_error_message();
  const auto ids = random_ids(8, rng);
  uint64_t a = 0, filler = 0;
  ASSERT_EQ(ghtier_kv_cache_session_create(cache, 0, &a), GHTIER_SUCCESS);
  ASSERT_EQ(ghtier_kv_cache_append(cache, a, ids.size(), stream_, nullptr, 0, nullptr), GHTIER_SUCCESS);
  ASSERT_EQ(ghtier_kv_cache_register_prefix(cache, a, ids.data(), ids.size(), "m"), GHTIER_SUCCESS)
      << ghtier_error_message();
  ASSERT_EQ(ghtier_kv_cache_suspend(cache, a, stream_), GHTIER_SUCCESS);
  ASSERT_EQ(ghtier_kv_cache_session_create(cache, 0, &filler), GHTIER_SUCCESS);
  ASSERT_EQ(ghtier_kv_cache_append(cache, filler, 8, stream_, nullptr, 0, nullptr), GHTIER_SUCCESS);
  ASSERT_EQ(ghtier_kv_cache_suspend(cache, filler, stream_), GHTIER_SUCCESS) << ghtier_error_message();
  size_t cached = 0, n = 0;
  int32_t tiers[4] = {-1, -1, -1, -1};
  ASSERT_EQ(ghtier_kv_cache_lookup_prefix(cache, ids.data(), ids.size(), "m", &cached, tiers, 4, &n), GHTIER_SUCCESS);
  EXPECT_EQ(cached, 8u);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(tiers[0], GHTIER_KV_TIER_FILE);
  EXPECT_EQ(tiers[1], GHTIER_KV_TIER_FILE);
  EXPECT_EQ(tiers[2], -1);
  uint64_t b = 0;
  ASSERT_EQ(ghtier_kv_cache_create_from_prefix(cache, ids.data(), ids.size(), "m", 0, stream_, &b, &cached),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  EXPECT_EQ(cached, 8u);
  size_t tokens = 0;
  ASSERT_EQ(ghtier_kv_cache_session_tokens(cache, b, &tokens), GHTIER_SUCCESS);
  EXPECT_EQ(tokens, 8u);
  EXPECT_EQ(ghtier_kv_cache_set_expiry(cache, b, INFINITY), GHTIER_SUCCESS);
  EXPECT_EQ(ghtier_kv_cache_set_expiry(cache, b, NAN), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_kv_cache_set_expiry(cache, 999, 1.0), GHTIER_ERROR_NOT_FOUND);
  ghtier_kv_cache_statistics_t stats{};
  stats.struct_size = sizeof(stats);
  ASSERT_EQ(ghtier_kv_cache_get_statistics(cache, &stats), GHTIER_SUCCESS);
  EXPECT_EQ(stats.file_blocks_used, 2u);
  EXPECT_EQ(stats.file_written_bytes, 2 * bb());
  EXPECT_EQ(stats.file_read_bytes, 2 * bb());
  EXPECT_EQ(ghtier_kv_cache_destroy(cache), GHTIER_SUCCESS);
  EXPECT_EQ(ghtier_runtime_destroy(runtime), GHTIER_SUCCESS);
}

}  // namespace
}  // namespace ghtier
