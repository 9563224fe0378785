// ActivationHostArena: exact sizes (256-byte granule, no power-of-two rounding), blocks inside the arena and
// apart, reuse from step to step without growth, and a clear out_of_budget error naming the arena's size.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "test_support.hpp"
#include "workloads/activation_offload/activation_host_arena.hpp"

namespace ghtier::detail {
namespace {

struct AlignedFree {
  void operator()(void* p) const noexcept { std::free(p); }
};

std::unique_ptr<void, AlignedFree> aligned_block(std::size_t bytes) {
  return std::unique_ptr<void, AlignedFree>(std::aligned_alloc(4096, bytes));
}

std::size_t rounded(std::size_t bytes) { return (bytes + 255) / 256 * 256; }

TEST(ActivationHostArena, ExactSizesFillTheArenaWithoutRounding) {
  constexpr std::size_t capacity = std::size_t{10} << 20;
  auto block = aligned_block(capacity);
  ActivationHostArena arena(block.get(), capacity);
  EXPECT_EQ(arena.capacity_bytes(), capacity);
  // 3 MiB + 1 byte, 5 MiB - 256, and what is left: a power-of-two allocator could not place the third.
  void* a = arena.allocate((std::size_t{3} << 20) + 1);
  void* b = arena.allocate((std::size_t{5} << 20) - 256);
  const std::size_t rest = capacity - rounded((std::size_t{3} << 20) + 1) - ((std::size_t{5} << 20) - 256);
  void* c = arena.allocate(rest);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(arena.used_bytes(), capacity);
  EXPECT_EQ(arena.try_allocate(1), nullptr);
  EXPECT_TRUE(arena.deallocate(b));
  EXPECT_FALSE(arena.deallocate(b)) << "a block freed twice is ignored";
  EXPECT_NE(arena.try_allocate((std::size_t{5} << 20) - 256), nullptr);
}

TEST(ActivationHostArena, RandomStepsKeepBlocksApartAlignedAndReuseTheSameMemory) {
  auto rng = test::fresh_rng();
  constexpr std::size_t capacity = std::size_t{64} << 20;
  auto block = aligned_block(capacity);
  ActivationHostArena arena(block.get(), capacity);
  std::size_t first_step_peak = 0;
  for (int step = 0; step < 20; ++step) {
    // The same sequence of sizes every step, as a training loop saves; freed in reverse (the backward pass).
    std::mt19937_64 sizes(1234);
    std::map<std::uintptr_t, std::size_t> live;
    std::vector<void*> order;
    for (int i = 0; i < 40; ++i) {
      const std::size_t bytes = std::uniform_int_distribution<std::size_t>(1, 3u << 20)(sizes);
      void* p = arena.try_allocate(bytes);
      if (p == nullptr) break;
      const auto at = reinterpret_cast<std::uintptr_t>(p);
      EXPECT_EQ(at % 256, 0u);
      EXPECT_TRUE(arena.contains(p, bytes));
      const auto next = live.lower_bound(at);
      if (next != live.end()) {
        EXPECT_LE(at + bytes, next->first) << "overlaps the next block";
      }
      if (next != live.begin()) {
        const auto prev = std::prev(next);
        EXPECT_LE(prev->first + prev->second, at) << "overlaps the previous block";
      }
      live.emplace(at, bytes);
      order.push_back(p);
    }
    if (step == 0) first_step_peak = arena.peak_used_bytes();
    // Free in an order that is mostly reverse, sometimes shuffled (views released out of order).
    if (std::uniform_int_distribution<int>(0, 3)(rng) == 0)
      std::shuffle(order.begin(), order.end(), rng);
    else
      std::reverse(order.begin(), order.end());
    for (void* p : order) EXPECT_TRUE(arena.deallocate(p));
    EXPECT_EQ(arena.used_bytes(), 0u);
  }
  EXPECT_EQ(arena.peak_used_bytes(), first_step_peak) << "later steps need no more room than the first";
}

TEST(ActivationHostArena, FullArenaNamesItsBudget) {
  constexpr std::size_t capacity = std::size_t{1} << 20;
  auto block = aligned_block(capacity);
  ActivationHostArena arena(block.get(), capacity);
  void* most = arena.allocate(capacity - 4096);
  ASSERT_NE(most, nullptr);
  try {
    (void)arena.allocate(8192);
    ADD_FAILURE() << "an allocation past the arena succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::out_of_budget);
    const std::string message = e.what();
    EXPECT_NE(message.find("1048576 bytes"), std::string::npos) << message;
    EXPECT_NE(message.find("8192 bytes"), std::string::npos) << message;
    EXPECT_NE(message.find("host budget"), std::string::npos) << message;
  }
  EXPECT_EQ(arena.used_bytes(), capacity - 4096) << "a refused allocation changes nothing";
  EXPECT_GHTIER_ERROR((void)arena.allocate(0), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(ActivationHostArena(nullptr, 4096), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(ActivationHostArena(block.get(), 100), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace ghtier::detail
