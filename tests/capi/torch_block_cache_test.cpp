// TorchBlockCache (src/capi/torch_block_cache.hpp) against a reference model, on fresh random sequences of
// allocations and frees over several streams and sizes: no block handed out twice, a block only ever back on
// the stream it was freed on and in its size class, LIFO, the bound held, a flush returning exactly what was
// cached, and the slot's retry after a flush when a budget refuses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "capi/torch_block_cache.hpp"
#include "test_support.hpp"

namespace {

using ghtier::capi::TorchBlockCache;

constexpr std::size_t KiB = std::size_t{1} << 10;
constexpr std::size_t MiB = std::size_t{1} << 20;

TEST(TorchBlockCacheSizeClass, RoundsUpWithLittleWaste) {
  auto rng = ghtier::test::fresh_rng();
  for (int i = 0; i < 200000; ++i) {
    // Sizes spread over 1 B .. 4 GiB on a log scale, and the edges of each class.
    const int shift = static_cast<int>(rng() % 33);
    std::size_t bytes = (std::size_t{1} << shift) + rng() % ((std::size_t{1} << shift) + 1);
    if (i % 3 == 0 && bytes > 512) bytes = (bytes / 512) * 512 + (rng() % 3) - 1;  // next to a multiple of 512
    const std::size_t c = TorchBlockCache::size_class(bytes);
    ASSERT_GE(c, bytes);
    ASSERT_EQ(c % 512, 0u) << bytes;
    ASSERT_EQ(TorchBlockCache::size_class(c), c) << "a class is its own class: " << bytes;
    if (bytes <= MiB) {
      ASSERT_LT(c - bytes, 512u) << bytes;
    } else {
      ASSERT_LE((c - bytes) * 8, bytes) << "more than 12.5 % waste for " << bytes;
      ASSERT_LT(c - bytes, 2 * MiB) << bytes;
    }
    // Monotonic: a larger request never gets a smaller class.
    ASSERT_LE(c, TorchBlockCache::size_class(bytes + 1)) << bytes;
  }
}

TEST(TorchBlockCacheSizeClass, EdgesAndOverflow) {
  EXPECT_EQ(TorchBlockCache::size_class(0), 0u);
  EXPECT_EQ(TorchBlockCache::size_class(1), 512u);
  EXPECT_EQ(TorchBlockCache::size_class(512), 512u);
  EXPECT_EQ(TorchBlockCache::size_class(513), 1024u);
  EXPECT_EQ(TorchBlockCache::size_class(MiB), MiB);
  EXPECT_EQ(TorchBlockCache::size_class(MiB + 1), MiB + 128 * KiB);
  EXPECT_EQ(TorchBlockCache::size_class(16 * MiB + 1), 18 * MiB);
  EXPECT_EQ(TorchBlockCache::size_class(64 * MiB + 1), 66 * MiB);
  EXPECT_EQ(TorchBlockCache::size_class(std::numeric_limits<std::size_t>::max()), 0u);
  EXPECT_EQ(TorchBlockCache::size_class(std::numeric_limits<std::size_t>::max() - MiB), 0u);
}

TEST(TorchBlockCacheLimit, DefaultIsTheLargerOfOneGibAndAQuarter) {
  EXPECT_EQ(TorchBlockCache::default_limit(0), std::size_t{1} << 30);
  EXPECT_EQ(TorchBlockCache::default_limit(std::size_t{2} << 30), std::size_t{1} << 30);
  EXPECT_EQ(TorchBlockCache::default_limit(std::size_t{140} << 30), std::size_t{35} << 30);
  EXPECT_EQ(TorchBlockCache::default_limit(std::numeric_limits<std::size_t>::max()),
            std::numeric_limits<std::size_t>::max() / 4);
}

TEST(TorchBlockCache, RefusesWhatPassesTheBoundAndNullBlocks) {
  TorchBlockCache cache(4 * KiB);
  int a = 0, b = 0, c = 0;
  const void* s = &a;
  EXPECT_TRUE(cache.put(s, 2 * KiB, &a));
  EXPECT_TRUE(cache.put(s, 2 * KiB, &b));
  EXPECT_FALSE(cache.put(s, 512, &c));  // 4.5 KiB > 4 KiB
  EXPECT_FALSE(cache.put(s, 512, nullptr));
  EXPECT_FALSE(cache.put(s, 0, &c));
  EXPECT_EQ(cache.cached_bytes(), 4 * KiB);
  EXPECT_EQ(cache.take(s, 2 * KiB), &b);  // LIFO
  EXPECT_EQ(cache.take(s, 2 * KiB), &a);
  EXPECT_EQ(cache.take(s, 2 * KiB), nullptr);
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_EQ(cache.misses(), 1u);
  TorchBlockCache none;  // limit 0: caches nothing
  EXPECT_FALSE(none.put(s, 512, &a));
  EXPECT_EQ(none.cached_blocks(), 0u);
  TorchBlockCache huge(std::numeric_limits<std::size_t>::max());
  EXPECT_TRUE(huge.put(s, std::numeric_limits<std::size_t>::max() - 1, &a));
  EXPECT_FALSE(huge.put(s, 2, &b));  // would wrap the byte count
}

// A fake device tier with a budget, and the slot's use of the cache over it, checked step by step against a
// reference model of what the cache must hold.
class CacheOverFakeRuntime {
 public:
  CacheOverFakeRuntime(std::size_t limit, std::size_t budget) : cache_(limit), budget_(budget) {}

  // The slot's allocation: a cached block of the class on this stream, else the runtime; when the runtime
  // refuses, flush the cache and try once more. Returns the block, or nullptr when refused after the retry.
  void* allocate(const void* stream, std::size_t bytes) {
    const std::size_t c = TorchBlockCache::size_class(bytes);
    EXPECT_NE(c, 0u);
    auto& expected = reference_[{stream, c}];
    void* p = cache_.take(stream, c);
    if (!expected.empty()) {
      EXPECT_EQ(p, expected.back()) << "not the block freed last on this stream in this class";
      expected.pop_back();
      reference_bytes_ -= c;
    } else {
      EXPECT_EQ(p, nullptr) << "a block from another stream or class, or one never cached";
    }
    if (p == nullptr) {
      p = runtime_allocate(c);
      if (p == nullptr) {
        flush();
        ++retries_;
        p = runtime_allocate(c);
      }
      if (p == nullptr) return nullptr;
    }
    EXPECT_TRUE(handed_out_.emplace(p, std::make_pair(stream, c)).second) << "block " << p << " handed out twice";
    EXPECT_EQ(runtime_blocks_.count(p), 1u) << "a block the runtime does not hold";
    check_counts();
    return p;
  }

  // The slot's free: into the cache when it fits under the bound, else back to the runtime.
  void release(void* p) {
    const auto it = handed_out_.find(p);
    ASSERT_NE(it, handed_out_.end());
    const auto [stream, c] = it->second;
    handed_out_.erase(it);
    const bool fits = reference_bytes_ + c <= cache_.limit_bytes();
    const bool kept = cache_.put(stream, c, p);
    EXPECT_EQ(kept, fits) << "cached " << reference_bytes_ << " + " << c << " against " << cache_.limit_bytes();
    if (kept) {
      reference_[{stream, c}].push_back(p);
      reference_bytes_ += c;
    } else {
      runtime_free(p);
    }
    check_counts();
  }

  // Flush: exactly the cached blocks come back, each once, with its stream and class; all go to the runtime.
  void flush() {
    std::multiset<std::tuple<const void*, std::size_t, void*>> expected;
    for (const auto& [key, blocks] : reference_) {
      for (void* p : blocks) expected.emplace(key.first, key.second, p);
    }
    std::multiset<std::tuple<const void*, std::size_t, void*>> got;
    for (const auto& b : cache_.drain()) {
      got.emplace(b.stream, b.bytes, b.data);
      runtime_free(b.data);
    }
    EXPECT_EQ(got, expected);
    reference_.clear();
    reference_bytes_ = 0;
    check_counts();
  }

  [[nodiscard]] const TorchBlockCache& cache() const { return cache_; }
  [[nodiscard]] std::size_t runtime_used() const { return runtime_used_; }
  [[nodiscard]] std::size_t live_bytes() const {
    std::size_t n = 0;
    for (const auto& [p, key] : handed_out_) n += key.second;
    return n;
  }
  [[nodiscard]] std::vector<void*> live_blocks() const {
    std::vector<void*> out;
    for (const auto& [p, key] : handed_out_) out.push_back(p);
    return out;
  }
  [[nodiscard]] int retries() const { return retries_; }

 private:
  void* runtime_allocate(std::size_t bytes) {
    if (runtime_used_ + bytes > budget_) return nullptr;
    void* p = reinterpret_cast<void*>(next_address_);
    next_address_ += bytes + 4096;
    runtime_blocks_[p] = bytes;
    runtime_used_ += bytes;
    return p;
  }
  void runtime_free(void* p) {
    const auto it = runtime_blocks_.find(p);
    ASSERT_NE(it, runtime_blocks_.end()) << "freed twice or never allocated: " << p;
    runtime_used_ -= it->second;
    runtime_blocks_.erase(it);
  }
  void check_counts() {
    std::size_t blocks = 0;
    for (const auto& [key, list] : reference_) blocks += list.size();
    EXPECT_EQ(cache_.cached_bytes(), reference_bytes_);
    EXPECT_EQ(cache_.cached_blocks(), blocks);
    EXPECT_LE(cache_.cached_bytes(), cache_.limit_bytes());
    EXPECT_EQ(runtime_used_, live_bytes() + reference_bytes_) << "cached blocks stay allocated in the runtime";
  }

  TorchBlockCache cache_;
  std::size_t budget_;
  std::map<std::pair<const void*, std::size_t>, std::vector<void*>> reference_;
  std::size_t reference_bytes_ = 0;
  std::map<void*, std::pair<const void*, std::size_t>> handed_out_;
  std::map<void*, std::size_t> runtime_blocks_;
  std::size_t runtime_used_ = 0;
  std::uintptr_t next_address_ = 0x10000;
  int retries_ = 0;
};

TEST(TorchBlockCache, RandomSequencesMatchTheReferenceModel) {
  auto rng = ghtier::test::fresh_rng();
  int streams_store[4] = {};
  const void* streams[4] = {&streams_store[0], &streams_store[1], &streams_store[2], nullptr};
  for (int round = 0; round < 40; ++round) {
    // A few size families, as a training step has: small vectors, activations, a big buffer now and then.
    const std::size_t limit = (1 + rng() % 64) * MiB;
    const std::size_t budget = (rng() % 2 == 0) ? std::numeric_limits<std::size_t>::max() : (64 + rng() % 192) * MiB;
    CacheOverFakeRuntime fake(limit, budget);
    std::vector<void*> live;
    for (int step = 0; step < 3000; ++step) {
      const auto action = rng() % 100;
      if (action < 50 || live.empty()) {
        const std::size_t family = rng() % 10;
        const std::size_t bytes = family < 6   ? 1 + rng() % (64 * KiB)
                                  : family < 9 ? MiB + rng() % (8 * MiB)
                                               : 8 * MiB + rng() % (40 * MiB);
        void* p = fake.allocate(streams[rng() % 4], bytes);
        if (p != nullptr) live.push_back(p);
      } else if (action < 97) {
        const std::size_t i = rng() % live.size();
        fake.release(live[i]);
        live[i] = live.back();
        live.pop_back();
      } else {
        fake.flush();
      }
      if (::testing::Test::HasFailure()) FAIL() << "round " << round << " step " << step;
    }
    for (void* p : live) fake.release(p);
    fake.flush();
    EXPECT_EQ(fake.runtime_used(), 0u) << "a flush after the last free leaves the runtime empty";
    EXPECT_EQ(fake.cache().cached_bytes(), 0u);
    EXPECT_GT(fake.cache().hits(), 0u);
  }
}

TEST(TorchBlockCache, RefusalFlushesTheCacheAndTheRetrySucceeds) {
  // 10 MiB budget: 4 blocks of 2 MiB freed into the cache on one stream leave no room for a 4 MiB block.
  CacheOverFakeRuntime fake(std::size_t{1} << 30, 10 * MiB);
  int a = 0, b = 0;
  std::vector<void*> blocks;
  for (int i = 0; i < 4; ++i) blocks.push_back(fake.allocate(&a, 2 * MiB));
  for (void* p : blocks) fake.release(p);
  EXPECT_EQ(fake.cache().cached_bytes(), 8 * MiB);
  void* big = fake.allocate(&b, 4 * MiB);  // a different stream: no hit; the runtime refuses until the flush
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(fake.retries(), 1);
  EXPECT_EQ(fake.cache().cached_bytes(), 0u);
  EXPECT_EQ(fake.runtime_used(), 4 * MiB);
  void* too_big = fake.allocate(&b, 8 * MiB);  // refused even after the (empty) flush
  EXPECT_EQ(too_big, nullptr);
  fake.release(big);
  fake.flush();
  EXPECT_EQ(fake.runtime_used(), 0u);
}

TEST(TorchBlockCache, DrainForgetsEveryKey) {
  TorchBlockCache cache(MiB);
  int s = 0;
  int blocks[3] = {};
  for (int& b : blocks) ASSERT_TRUE(cache.put(&s, 512, &b));
  EXPECT_EQ(cache.drain().size(), 3u);
  EXPECT_EQ(cache.drain().size(), 0u);
  EXPECT_EQ(cache.take(&s, 512), nullptr);
  EXPECT_EQ(cache.cached_blocks(), 0u);
}

}  // namespace
