// KvCacheStore's prefix reuse and file tier on the GPU, byte for byte: an adopted prefix shares the owner's
// device blocks; host pressure moves registered blocks to files and a resume brings every byte back; a
// second store over the same directory (another process) rebuilds a prefix from the files alone into a
// poisoned device pool; a corrupt block file ends the prefix there (no wrong byte, no other session lost);
// expiry drops before priority; 16 threads with prefixes and files; the C API does the same round trip.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "ghtier/ghtier_workloads.h"
#include "ghtier/log.hpp"
#include "ghtier/workloads/kv_block_hash.hpp"
#include "ghtier/workloads/kv_cache.hpp"
#include "test_support.hpp"
#include "workload_gpu_test.hpp"

namespace ghtier {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view salt = "gpu-test-model";

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

class KvCacheFilesGpu : public test::KvStoreGpuTest {
 protected:
  std::unique_ptr<KvCacheStore> make_store(std::size_t device_blocks, std::size_t host_blocks,
                                           const fs::path& directory, std::size_t file_blocks = 0) {
    KvCacheOptions o{small_shape(), device_blocks, host_blocks};
    o.file_directory = directory.string();
    o.file_blocks = file_blocks;
    return std::make_unique<KvCacheStore>(*runtime_, *engine_, o);
  }
  static std::size_t bb() { return small_shape().block_bytes(); }
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

// Bytes that depend only on `key`: a full block's KV is a function of its chained hash (as real KV is of its
// prefix), so a block adopted from any session or file must hold exactly these.
std::vector<unsigned char> bytes_of(std::uint64_t key, std::size_t n) {
  std::mt19937_64 r(key);
  std::vector<unsigned char> out(n);
  for (auto& c : out) c = static_cast<unsigned char>(r());
  return out;
}

// 16 threads, each with its own stream, on one store with a small host pool and a bounded file tier:
// sessions drawn from shared documents append, register, suspend, resume, fork, adopt prefixes and drop;
// every active session's device blocks must read back exactly the bytes of its tokens (full blocks: the
// bytes of their hash; a partial last block: the bytes its session last wrote), and in the end every device
// and host block is free.
TEST_F(KvCacheFilesGpu, SixteenThreadsWithPrefixesAndFiles) {
  TempDir dir;
  const std::size_t tpb = small_shape().tokens_per_block;
  auto store = make_store(192, 96, dir.path, 256);
  auto* pool = static_cast<unsigned char*>(store->device_pool());
  std::mt19937_64 seeds = test::fresh_rng();
  std::vector<std::vector<std::int32_t>> docs(4);
  for (auto& d : docs) d = random_ids(64, seeds);
  struct Session {
    std::vector<std::int32_t> ids;
    std::uint64_t partial_key = 0;  // the key of the bytes of a partly filled last block
    std::size_t doc = 0;
    bool diverged = false;
  };
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
      const auto fail = [&](const std::string& what) {
        ++failures;
        ADD_FAILURE() << what;
      };
      std::map<KvSessionId, Session> mine;
      const auto expected_block = [&](const Session& s, std::size_t i, const std::vector<KvBlockHash>& hashes) {
        return i < hashes.size() ? bytes_of(hashes[i], bb()) : bytes_of(s.partial_key, bb());
      };
      // Writes blocks [from, end) of the session as its tokens say.
      const auto write_blocks = [&](KvSessionId id, Session& s, std::size_t from) {
        const auto table = store->block_table(id);
        const auto hashes = kv_prefix_hashes(s.ids, tpb, salt);
        s.partial_key = rng();
        std::vector<std::vector<unsigned char>> staged;
        for (std::size_t i = from; i < table.size(); ++i) {
          staged.push_back(expected_block(s, i, hashes));
          (void)cudaMemcpyAsync(pool + table[i] * bb(), staged.back().data(), bb(), cudaMemcpyHostToDevice, stream);
        }
        (void)cudaStreamSynchronize(stream);
      };
      const auto verify = [&](KvSessionId id, Session& s) {
        const std::size_t tokens = store->tokens(id);
        if (tokens > s.ids.size() || (tokens < s.ids.size() && tokens % tpb != 0)) {
          fail(fmt::format("session {} holds {} tokens of {}", id, tokens, s.ids.size()));
          return;
        }
        s.ids.resize(tokens);
        const auto table = store->block_table(id);
        const auto hashes = kv_prefix_hashes(s.ids, tpb, salt);
        std::vector<unsigned char> got(bb());
        for (std::size_t i = 0; i < table.size(); ++i) {
          (void)cudaMemcpyAsync(got.data(), pool + table[i] * bb(), bb(), cudaMemcpyDeviceToHost, stream);
          (void)cudaStreamSynchronize(stream);
          if (got != expected_block(s, i, hashes)) {
            fail(fmt::format("session {} block {} of {} holds wrong bytes", id, i, table.size()));
            return;
          }
        }
      };
      for (int step = 0; step < 80 && failures == 0; ++step) {
        try {
          const int op = static_cast<int>(rng() % 100);
          if (mine.empty() || op < 10) {
            Session s;
            s.doc = rng() % docs.size();
            mine[store->create(static_cast<int>(rng() % 3))] = s;
            continue;
          }
          if (op < 20) {  // adopt a stored prefix of a document
            const std::size_t doc = rng() % docs.size();
            const std::size_t length = 1 + rng() % docs[doc].size();
            const std::span<const std::int32_t> query(docs[doc].data(), length);
            const KvPrefixSession made = store->create_from_prefix(query, salt, 0, stream);
            Session s;
            s.doc = doc;
            s.ids.assign(query.begin(), query.begin() + static_cast<std::ptrdiff_t>(made.cached_tokens));
            mine[made.session] = s;
            verify(made.session, mine[made.session]);
            continue;
          }
          auto it = mine.begin();
          std::advance(it, static_cast<long>(rng() % mine.size()));
          const KvSessionId id = it->first;
          Session& s = it->second;
          if (op < 50) {
            if (store->suspended(id)) {
              store->resume(id, stream);
              verify(id, s);
            }
            const std::size_t n = 1 + rng() % 12;
            const std::size_t first_block = s.ids.size() / tpb;
            if (rng() % 6 == 0) s.diverged = true;
            std::vector<std::int32_t> more;
            for (std::size_t i = 0; i < n; ++i) {
              const std::size_t at = s.ids.size() + i;
              more.push_back(s.diverged || at >= docs[s.doc].size() ? static_cast<std::int32_t>(rng() % 128000)
                                                                    : docs[s.doc][at]);
            }
            (void)store->append(id, n, stream);
            s.ids.insert(s.ids.end(), more.begin(), more.end());
            write_blocks(id, s, first_block);
            store->register_prefix(id, s.ids, salt);
          } else if (op < 70) {
            if (!store->suspended(id)) store->suspend(id, stream);
          } else if (op < 85) {
            if (store->suspended(id)) {
              store->resume(id, stream);
              verify(id, s);
            }
          } else if (op < 92) {
            const KvSessionId f = store->fork(id);
            mine[f] = s;
          } else {
            store->drop(id);
            mine.erase(id);
          }
        } catch (const Error& e) {
          if (e.code() != ErrorCode::out_of_budget) fail(e.what());
        }
      }
      for (auto& [id, s] : mine) store->drop(id);
      (void)cudaStreamDestroy(stream);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  const KvCacheStatistics stats = store->statistics();
  EXPECT_EQ(stats.sessions, 0u);
  EXPECT_EQ(stats.device_blocks_used, 0u);
  EXPECT_EQ(stats.host_blocks_used, 0u);
  EXPECT_EQ(stats.file_blocks_used, 0u);
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
