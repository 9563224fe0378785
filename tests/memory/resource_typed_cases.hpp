// The shared typed suite: the same cases run against every MemoryResource (each mode, each adaptor), so a
// new resource gets the whole suite by adding one environment type to an instantiation.
//
// An environment type E provides:
//   static constexpr MemoryMode mode;          the mode the resource must report
//   static constexpr bool needs_gpu;           skip (with the reason) where no GPU is visible
//   MemoryResource& resource();                (E owns the resource and anything under it)
//   static void copy(void* dst, const void* src, std::size_t n);  a copy that reaches the memory
//                                              (memcpy on the CPU, cudaMemcpy where it may be device memory)
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "core/memory/allocation_checks.hpp"
#include "ghtier/memory/memory_resource.hpp"
#include "test_support.hpp"

namespace ghtier::test {

template <typename Environment>
class ResourceTypedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (Environment::needs_gpu) {
      GHTIER_REQUIRE_GPU();
    }
    environment_.emplace();
  }
  void TearDown() override { environment_.reset(); }
  MemoryResource& resource() { return environment_->resource(); }

  /// Writes fresh random bytes into [p, p + n) and returns them.
  std::vector<unsigned char> fill_random(void* p, std::size_t n, std::mt19937_64& rng) {
    std::vector<unsigned char> data(n);
    for (auto& byte : data) byte = static_cast<unsigned char>(rng());
    Environment::copy(p, data.data(), n);
    return data;
  }
  /// Reads [p, p + n) back into a poisoned buffer and says whether it equals `expected`.
  ::testing::AssertionResult holds(const void* p, const std::vector<unsigned char>& expected) {
    std::vector<unsigned char> back(expected.size());
    for (std::size_t i = 0; i < back.size(); ++i) back[i] = static_cast<unsigned char>(~expected[i]);  // poison
    Environment::copy(back.data(), p, back.size());
    const auto mismatch = std::mismatch(back.begin(), back.end(), expected.begin());
    if (mismatch.first == back.end()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "byte " << (mismatch.first - back.begin()) << " of " << back.size()
                                         << " differs";
  }

  std::optional<Environment> environment_;
};

TYPED_TEST_SUITE_P(ResourceTypedTest);

TYPED_TEST_P(ResourceTypedTest, ReportsItsMode) { EXPECT_EQ(this->resource().mode(), TypeParam::mode); }

TYPED_TEST_P(ResourceTypedTest, RefusesInvalidArguments) {
  MemoryResource& r = this->resource();
  EXPECT_GHTIER_ERROR((void)r.allocate(0), ErrorCode::invalid_argument);
  for (std::size_t alignment :
       {std::size_t{0}, std::size_t{3}, std::size_t{48}, std::size_t{4097}, detail::max_alignment * 2}) {
    EXPECT_GHTIER_ERROR((void)r.allocate(64, alignment), ErrorCode::invalid_argument);
  }
  EXPECT_GHTIER_ERROR((void)r.allocate(std::size_t{1} << 60), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)r.allocate(~std::size_t{0}), ErrorCode::invalid_argument);
  r.deallocate(nullptr, 64);  // a no-op, like free(nullptr)
}

TYPED_TEST_P(ResourceTypedTest, HonoursEveryAlignment) {
  auto rng = fresh_rng();
  MemoryResource& r = this->resource();
  for (std::size_t alignment = 1; alignment <= (std::size_t{1} << 21); alignment *= 2) {
    const std::size_t bytes = 1 + rng() % 5000;
    void* p = r.allocate(bytes, alignment);
    EXPECT_TRUE(detail::is_aligned(p, alignment)) << p << " is not aligned to " << alignment;
    const auto data = this->fill_random(p, bytes, rng);
    EXPECT_TRUE(this->holds(p, data)) << "alignment " << alignment;
    r.deallocate(p, bytes, alignment);
  }
}

TYPED_TEST_P(ResourceTypedTest, LiveAllocationsKeepTheirBytes) {
  // Many live allocations at once, each filled with fresh random bytes, all checked afterwards: two blocks
  // that overlap, or a block shorter than asked, corrupt each other.
  auto rng = fresh_rng();
  MemoryResource& r = this->resource();
  struct Live {
    void* p;
    std::size_t bytes;
    std::size_t alignment;
    std::vector<unsigned char> data;
  };
  std::vector<Live> live;
  for (int i = 0; i < 48; ++i) {
    const std::size_t bytes = 1 + rng() % (i % 8 == 0 ? (std::size_t{4} << 20) : std::size_t{70000});
    const std::size_t alignment = std::size_t{1} << (rng() % 13);
    void* p = r.allocate(bytes, alignment);
    live.push_back({p, bytes, alignment, this->fill_random(p, bytes, rng)});
  }
  for (const Live& entry : live) EXPECT_TRUE(this->holds(entry.p, entry.data));
  for (const Live& entry : live) r.deallocate(entry.p, entry.bytes, entry.alignment);
}

TYPED_TEST_P(ResourceTypedTest, SixteenThreadsAllocateAndFreeAtRandom) {
  constexpr int threads = 16;
  auto seed_rng = fresh_rng();
  std::vector<std::uint64_t> seeds;
  for (int t = 0; t < threads; ++t) seeds.push_back(seed_rng());
  MemoryResource& r = this->resource();
  std::atomic<int> corrupted{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(seeds[static_cast<std::size_t>(t)]);
      struct Live {
        void* p;
        std::size_t bytes;
        std::vector<unsigned char> data;
      };
      std::vector<Live> mine;
      try {
        for (int step = 0; step < 150; ++step) {
          if (mine.empty() || rng() % 100 < 55) {
            const std::size_t bytes = 1 + rng() % 100000;
            void* p = r.allocate(bytes);
            std::vector<unsigned char> data(bytes);
            for (auto& byte : data) byte = static_cast<unsigned char>(rng());
            TypeParam::copy(p, data.data(), bytes);
            mine.push_back({p, bytes, std::move(data)});
          } else {
            const std::size_t index = rng() % mine.size();
            Live entry = std::move(mine[index]);
            mine[index] = std::move(mine.back());
            mine.pop_back();
            std::vector<unsigned char> back(entry.bytes, 0);
            TypeParam::copy(back.data(), entry.p, entry.bytes);
            if (back != entry.data) ++corrupted;
            r.deallocate(entry.p, entry.bytes);
          }
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << "thread " << t << ": " << e.what();
        ++errors;
      }
      for (const Live& entry : mine) {
        std::vector<unsigned char> back(entry.bytes, 0);
        TypeParam::copy(back.data(), entry.p, entry.bytes);
        if (back != entry.data) ++corrupted;
        r.deallocate(entry.p, entry.bytes);
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(corrupted.load(), 0) << "a block was shared between threads or lost its bytes";
  EXPECT_EQ(errors.load(), 0);
}

TYPED_TEST_P(ResourceTypedTest, ReusesFreedMemory) {
  // 4 GiB allocated and freed in 64 MiB blocks: a resource whose frees did not give memory back would run
  // a small machine (or a sanitizer's leak check) out.
  MemoryResource& r = this->resource();
  const std::size_t bytes = std::size_t{64} << 20;
  auto rng = fresh_rng();
  for (int i = 0; i < 64; ++i) {  // 4 GiB in all
    void* p = r.allocate(bytes);
    if (i % 16 == 0) {
      const auto data = this->fill_random(p, 4096, rng);
      EXPECT_TRUE(this->holds(p, data));
    }
    r.deallocate(p, bytes);
  }
}

REGISTER_TYPED_TEST_SUITE_P(ResourceTypedTest, ReportsItsMode, RefusesInvalidArguments, HonoursEveryAlignment,
                            LiveAllocationsKeepTheirBytes, SixteenThreadsAllocateAndFreeAtRandom, ReusesFreedMemory);

}  // namespace ghtier::test
