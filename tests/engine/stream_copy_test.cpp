// stream_copy and CopyWorkers on the CPU: random sizes and misalignments against a byte-wise reference;
// completion handlers run exactly once, also with 16 threads posting at once.
#include "engine/stream_copy.hpp"
#include "engine/copy_workers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace ghtier::detail {
namespace {

using ghtier::test::random_bytes;

TEST(StreamCopy, RandomSizesAndOffsets) {
  auto rng = test::fresh_rng();
  for (int trial = 0; trial < 140; ++trial) {
    const std::size_t n = trial < 100 ? std::uniform_int_distribution<std::size_t>(0, 4096)(rng)
                                      : std::uniform_int_distribution<std::size_t>(60 << 10, 3 << 20)(rng);
    const std::size_t src_off = std::uniform_int_distribution<std::size_t>(0, 63)(rng);
    const std::size_t dst_off = std::uniform_int_distribution<std::size_t>(0, 63)(rng);
    const auto src = random_bytes(rng, n + 64);
    std::vector<unsigned char> dst(n + 128, 0xA5);
    stream_copy(dst.data() + dst_off, src.data() + src_off, n);
    for (std::size_t i = 0; i < dst_off; ++i) ASSERT_EQ(dst[i], 0xA5) << "wrote before the destination";
    ASSERT_EQ(0, std::memcmp(dst.data() + dst_off, src.data() + src_off, n))
        << n << " bytes, offsets " << src_off << " -> " << dst_off;
    for (std::size_t i = dst_off + n; i < dst.size(); ++i) ASSERT_EQ(dst[i], 0xA5) << "wrote past the destination";
  }
}

TEST(CopyWorkers, RefusesZeroThreads) { EXPECT_GHTIER_ERROR(CopyWorkers(0), ErrorCode::invalid_argument); }

TEST(CopyWorkers, DefaultThreadsIsSane) {
  EXPECT_GE(CopyWorkers::default_threads(), 2u);
  EXPECT_LE(CopyWorkers::default_threads(), 12u);
}

TEST(CopyWorkers, CopiesAndCompletesExactlyOnceUnderConcurrentPosts) {
  auto rng = test::fresh_rng();
  CopyWorkers workers(4);
  constexpr int posters = 16;
  constexpr int copies_each = 8;
  std::vector<std::vector<unsigned char>> sources, destinations;
  std::vector<std::size_t> offsets;
  for (int i = 0; i < posters * copies_each; ++i) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(0, 1 << 20)(rng);
    sources.push_back(random_bytes(rng, n));
    destinations.emplace_back(n + 8, 0x5A);
    offsets.push_back(std::uniform_int_distribution<std::size_t>(0, 7)(rng));
  }
  std::vector<std::atomic<int>> done(sources.size());
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < posters; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < copies_each; ++k) {
        const std::size_t i = static_cast<std::size_t>(t * copies_each + k);
        workers.post_copy(destinations[i].data() + offsets[i], sources[i].data(), sources[i].size(), [&, i] {
          done[i].fetch_add(1);
          finished.fetch_add(1);
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  while (finished.load() < posters * copies_each) std::this_thread::yield();
  for (std::size_t i = 0; i < sources.size(); ++i) {
    ASSERT_EQ(done[i].load(), 1) << "completion " << i;
    ASSERT_EQ(0, std::memcmp(destinations[i].data() + offsets[i], sources[i].data(), sources[i].size())) << i;
  }
}

TEST(CopyWorkers, DestructionFinishesPostedCopies) {
  auto rng = test::fresh_rng();
  std::atomic<int> completions{0};
  const auto src = random_bytes(rng, 8 << 20);
  std::vector<unsigned char> dst(src.size(), 0);
  {
    CopyWorkers workers(2);
    for (int i = 0; i < 8; ++i) {
      workers.post_copy(dst.data() + (i << 20), src.data() + (i << 20), 1 << 20, [&] { completions.fetch_add(1); });
    }
  }
  EXPECT_EQ(completions.load(), 8);
  EXPECT_EQ(dst, src);
}

}  // namespace
}  // namespace ghtier::detail
