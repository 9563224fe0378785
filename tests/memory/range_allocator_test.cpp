// RangeAllocator (the pinned pool's sub-allocator) on a plain malloc'd arena: random alloc/free sequences
// checked against an independent reference model of the live blocks, coalescing, alignment, exhaustion,
// ranges that touch, misuse, and 16 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "core/memory/range_allocator.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

using detail::RangeAllocator;
using Address = std::uintptr_t;

struct FreeDeleter {
  void operator()(void* p) const noexcept { std::free(p); }
};
using Arena = std::unique_ptr<unsigned char, FreeDeleter>;

Arena make_arena(std::size_t bytes, std::size_t alignment = 1 << 20) {
  void* p = std::aligned_alloc(alignment, bytes);
  if (p == nullptr) throw std::bad_alloc();
  return Arena(static_cast<unsigned char*>(p));
}

Address addr(const void* p) { return reinterpret_cast<Address>(p); }
std::size_t round_up(std::size_t v, std::size_t a) { return (v + a - 1) / a * a; }

/// What the allocator should look like, derived only from the ranges and the live blocks it handed out.
class ReferenceModel {
 public:
  explicit ReferenceModel(std::size_t granule) : granule_(granule) {}
  void add_range(Address base, std::size_t bytes) { ranges_[base] = bytes; }

  /// Checks a fresh block and records it; returns a failure description, or "" if it is valid.
  std::string take(Address p, std::size_t bytes, std::size_t alignment) {
    const std::size_t size = round_up(bytes, granule_);
    const std::size_t align = std::max(alignment, granule_);
    if (p % align != 0) return "block " + std::to_string(p) + " is not aligned to " + std::to_string(align);
    auto range = ranges_.upper_bound(p);
    if (range == ranges_.begin()) return "block below every range";
    --range;
    if (p + size > range->first + range->second) return "block runs past the end of its range";
    auto next = live_.lower_bound(p);
    if (next != live_.end() && next->first < p + size) return "block overlaps the next live block";
    if (next != live_.begin() && std::prev(next)->first + std::prev(next)->second > p) {
      return "block overlaps the previous live block";
    }
    live_[p] = size;
    return "";
  }
  void give_back(Address p) { live_.erase(p); }

  /// The maximal free intervals (never crossing a range boundary).
  [[nodiscard]] std::vector<std::pair<Address, std::size_t>> gaps() const {
    std::vector<std::pair<Address, std::size_t>> result;
    for (const auto& [base, bytes] : ranges_) {
      Address cursor = base;
      for (auto it = live_.lower_bound(base); it != live_.end() && it->first < base + bytes; ++it) {
        if (it->first > cursor) result.emplace_back(cursor, it->first - cursor);
        cursor = it->first + it->second;
      }
      if (cursor < base + bytes) result.emplace_back(cursor, base + bytes - cursor);
    }
    return result;
  }
  /// Whether some gap could hold the request under the allocator's documented guarantee.
  [[nodiscard]] bool surely_fits(std::size_t bytes, std::size_t alignment) const {
    const std::size_t size = round_up(bytes, granule_);
    const std::size_t need = alignment <= granule_ ? size : size + alignment - granule_;
    for (const auto& gap : gaps()) {
      if (gap.second >= need) return true;
    }
    return false;
  }
  [[nodiscard]] std::size_t used() const {
    std::size_t total = 0;
    for (const auto& entry : live_) total += entry.second;
    return total;
  }
  [[nodiscard]] const std::map<Address, std::size_t>& live() const { return live_; }

 private:
  std::size_t granule_;
  std::map<Address, std::size_t> ranges_;
  std::map<Address, std::size_t> live_;
};

void expect_matches(const RangeAllocator& allocator, const ReferenceModel& model, std::size_t capacity) {
  const auto gaps = model.gaps();
  std::size_t largest = 0;
  for (const auto& gap : gaps) largest = std::max(largest, gap.second);
  ASSERT_EQ(allocator.used_bytes(), model.used());
  ASSERT_EQ(allocator.free_bytes(), capacity - model.used());
  ASSERT_EQ(allocator.live_block_count(), model.live().size());
  // Full coalescing: every maximal gap is exactly one free block.
  ASSERT_EQ(allocator.free_block_count(), gaps.size());
  ASSERT_EQ(allocator.largest_free_block(), largest);
}

TEST(RangeAllocator, RandomSequencesMatchTheReferenceModel) {
  auto rng = test::fresh_rng();
  constexpr std::size_t granule = 256;
  // Three ranges: two that touch (added separately, as two pinned regions may be) and one apart.
  constexpr std::size_t arena_bytes = 4 << 20;
  Arena arena = make_arena(arena_bytes);
  const Address base = addr(arena.get());
  const std::vector<std::pair<Address, std::size_t>> ranges = {
      {base, 1 << 20}, {base + (1 << 20), 1 << 20}, {base + (3 << 20) - 4096 * 3, 1 << 19}};
  RangeAllocator allocator(granule);
  ReferenceModel model(granule);
  std::size_t capacity = 0;
  for (const auto& [b, n] : ranges) {
    allocator.add_range(reinterpret_cast<void*>(b), n);
    model.add_range(b, n);
    capacity += n;
  }
  ASSERT_EQ(allocator.capacity_bytes(), capacity);
  expect_matches(allocator, model, capacity);

  std::uniform_int_distribution<int> op(0, 99);
  std::uniform_int_distribution<int> log_size(0, 17);
  std::uniform_int_distribution<int> log_align(0, 16);
  std::vector<Address> live;
  int failures = 0;
  for (int step = 0; step < 20000; ++step) {
    const bool do_alloc = live.empty() || op(rng) < 55;
    if (do_alloc) {
      const std::size_t bytes = 1 + (rng() % (std::size_t{1} << log_size(rng)));
      const std::size_t alignment = std::size_t{1} << (op(rng) < 70 ? 0 : log_align(rng));
      void* p = allocator.allocate(bytes, alignment);
      if (p == nullptr) {
        ++failures;
        ASSERT_FALSE(model.surely_fits(bytes, alignment))
            << "allocate(" << bytes << ", " << alignment << ") failed although a free gap could hold it";
      } else {
        const std::string problem = model.take(addr(p), bytes, alignment);
        ASSERT_EQ(problem, "") << "allocate(" << bytes << ", " << alignment << ") at step " << step;
        ASSERT_EQ(allocator.block_size(p), round_up(bytes, granule));
        live.push_back(addr(p));
      }
    } else {
      const std::size_t index = rng() % live.size();
      const Address p = live[index];
      live[index] = live.back();
      live.pop_back();
      const std::size_t expected = model.live().at(p);
      ASSERT_EQ(allocator.deallocate(reinterpret_cast<void*>(p)), expected);
      model.give_back(p);
    }
    if (step % 64 == 0) expect_matches(allocator, model, capacity);
  }
  EXPECT_GT(failures, 0) << "the sequence never filled the arena: the exhaustion path went untested";
  for (Address p : live) {
    allocator.deallocate(reinterpret_cast<void*>(p));
    model.give_back(p);
  }
  expect_matches(allocator, model, capacity);
  // Everything merged back, but never across the two ranges that touch.
  EXPECT_EQ(allocator.free_block_count(), ranges.size());
  EXPECT_EQ(allocator.largest_free_block(), std::size_t{1} << 20);
}

TEST(RangeAllocator, NeverCoalescesAcrossTouchingRanges) {
  Arena arena = make_arena(2 << 20);
  RangeAllocator allocator(256);
  allocator.add_range(arena.get(), 1 << 20);
  allocator.add_range(arena.get() + (1 << 20), 1 << 20);
  EXPECT_EQ(allocator.allocate((1 << 20) + 1, 1), nullptr) << "a block spanning two ranges was handed out";
  // Free in both orders: merging forward and merging backward must both stop at the boundary.
  for (bool first_then_second : {true, false}) {
    void* a = allocator.allocate(1 << 20, 1);
    void* b = allocator.allocate(1 << 20, 1);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(allocator.free_bytes(), 0u);
    EXPECT_EQ(allocator.allocate(1, 1), nullptr);
    allocator.deallocate(first_then_second ? a : b);
    allocator.deallocate(first_then_second ? b : a);
    EXPECT_EQ(allocator.free_block_count(), 2u);
    EXPECT_EQ(allocator.largest_free_block(), std::size_t{1} << 20);
    EXPECT_EQ(allocator.allocate((1 << 20) + 1, 1), nullptr) << "a block spanning two ranges was handed out";
  }
}

TEST(RangeAllocator, CoalescesNeighboursInEveryOrder) {
  Arena arena = make_arena(1 << 20);
  RangeAllocator allocator(256);
  allocator.add_range(arena.get(), 4096);
  // Four blocks filling the range exactly; freeing them in each order must end with one free block.
  const std::vector<std::vector<int>> orders = {{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}, {2, 0, 3, 1}, {0, 2, 1, 3}};
  for (const auto& order : orders) {
    std::vector<void*> blocks;
    for (int i = 0; i < 4; ++i) blocks.push_back(allocator.allocate(1024, 1));
    for (void* b : blocks) ASSERT_NE(b, nullptr);
    EXPECT_EQ(allocator.free_block_count(), 0u);
    for (int i : order) allocator.deallocate(blocks[static_cast<std::size_t>(i)]);
    EXPECT_EQ(allocator.free_block_count(), 1u);
    EXPECT_EQ(allocator.largest_free_block(), 4096u);
  }
}

TEST(RangeAllocator, BestFitPicksTheSmallestHole) {
  Arena arena = make_arena(1 << 20);
  RangeAllocator allocator(256);
  allocator.add_range(arena.get(), 64 * 256);
  // Carve holes of 4, 2 and 3 granules separated by live blocks.
  void* a = allocator.allocate(4 * 256, 1);
  void* sep1 = allocator.allocate(256, 1);
  void* b = allocator.allocate(2 * 256, 1);
  void* sep2 = allocator.allocate(256, 1);
  void* c = allocator.allocate(3 * 256, 1);
  void* sep3 = allocator.allocate(256, 1);
  ASSERT_TRUE(a && sep1 && b && sep2 && c && sep3);
  allocator.deallocate(a);
  allocator.deallocate(b);
  allocator.deallocate(c);
  EXPECT_EQ(allocator.allocate(2 * 256, 1), b);
  EXPECT_EQ(allocator.allocate(3 * 256, 1), c);
  EXPECT_EQ(allocator.allocate(256, 1), a);
}

TEST(RangeAllocator, HonoursLargeAlignmentsAndReusesTheSkippedHead) {
  Arena arena = make_arena(1 << 20, 1 << 20);
  RangeAllocator allocator(256);
  // Start the range just after a 64 KiB boundary so an aligned block must skip a head.
  unsigned char* start = arena.get() + 256;
  allocator.add_range(start, (1 << 20) - 256);
  for (std::size_t alignment : {4096u, 65536u, 131072u}) {
    void* p = allocator.allocate(1000, alignment);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(addr(p) % alignment, 0u) << "alignment " << alignment;
  }
  // The head before the first 4 KiB boundary is free and serves a small request.
  void* small = allocator.allocate(256, 1);
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(small, start);
}

TEST(RangeAllocator, ExhaustsExactlyAtCapacity) {
  Arena arena = make_arena(1 << 20);
  RangeAllocator allocator(512);
  allocator.add_range(arena.get(), 100 * 512 + 100);  // the tail below one granule is dropped
  EXPECT_EQ(allocator.capacity_bytes(), 100u * 512);
  std::vector<void*> blocks;
  while (void* p = allocator.allocate(1, 1)) blocks.push_back(p);
  EXPECT_EQ(blocks.size(), 100u);
  EXPECT_EQ(allocator.free_bytes(), 0u);
  EXPECT_EQ(allocator.allocate(1, 1), nullptr);
  allocator.deallocate(blocks[57]);
  EXPECT_EQ(allocator.allocate(512, 1), blocks[57]);
  EXPECT_EQ(allocator.allocate(513, 1), nullptr);
}

TEST(RangeAllocator, RefusesMisuseWithoutChangingState) {
  Arena arena = make_arena(1 << 20);
  RangeAllocator allocator(256);
  allocator.add_range(arena.get(), 8192);
  void* p = allocator.allocate(1024, 1);
  ASSERT_NE(p, nullptr);
  int local = 0;
  EXPECT_EQ(allocator.deallocate(&local), 0u) << "foreign pointer";
  EXPECT_EQ(allocator.deallocate(static_cast<unsigned char*>(p) + 256), 0u) << "interior pointer";
  EXPECT_EQ(allocator.deallocate(nullptr), 0u);
  EXPECT_EQ(allocator.used_bytes(), 1024u);
  EXPECT_EQ(allocator.deallocate(p), 1024u);
  EXPECT_EQ(allocator.deallocate(p), 0u) << "double free";
  EXPECT_EQ(allocator.used_bytes(), 0u);
  EXPECT_EQ(allocator.free_block_count(), 1u);
  // Bad requests are refused, not satisfied.
  EXPECT_EQ(allocator.allocate(0, 1), nullptr);
  EXPECT_EQ(allocator.allocate(16, 3), nullptr);
  EXPECT_EQ(allocator.allocate(16, 0), nullptr);
}

TEST(RangeAllocator, RefusesBadRanges) {
  Arena arena = make_arena(1 << 20);
  EXPECT_GHTIER_ERROR(RangeAllocator(100), ErrorCode::invalid_argument);
  RangeAllocator allocator(256);
  EXPECT_GHTIER_ERROR(allocator.add_range(arena.get() + 8, 4096), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(allocator.add_range(arena.get(), 100), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(allocator.add_range(nullptr, 4096), ErrorCode::invalid_argument);
  allocator.add_range(arena.get() + 4096, 8192);
  EXPECT_GHTIER_ERROR(allocator.add_range(arena.get(), 8192), ErrorCode::invalid_argument);         // tail overlaps
  EXPECT_GHTIER_ERROR(allocator.add_range(arena.get() + 8192, 8192), ErrorCode::invalid_argument);  // head overlaps
  EXPECT_EQ(allocator.range_count(), 1u);
  EXPECT_EQ(allocator.capacity_bytes(), 8192u);
}

TEST(RangeAllocator, RemovesOnlyRangesWithoutLiveBlocks) {
  Arena arena = make_arena(1 << 20);
  RangeAllocator allocator(256);
  allocator.add_range(arena.get(), 8192);
  allocator.add_range(arena.get() + 8192, 8192);
  void* p = allocator.allocate(8192, 1);
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(allocator.remove_range(p));
  int local = 0;
  EXPECT_FALSE(allocator.remove_range(&local));
  void* other = p == arena.get() ? arena.get() + 8192 : arena.get();
  EXPECT_TRUE(allocator.remove_range(other));
  EXPECT_EQ(allocator.capacity_bytes(), 8192u);
  EXPECT_EQ(allocator.allocate(1, 1), nullptr);
  allocator.deallocate(p);
  EXPECT_TRUE(allocator.remove_range(p));
  EXPECT_EQ(allocator.capacity_bytes(), 0u);
  EXPECT_EQ(allocator.free_block_count(), 0u);
}

TEST(RangeAllocator, SixteenThreadsNeverShareABlock) {
  constexpr int threads = 16;
  constexpr std::size_t arena_bytes = 8 << 20;
  Arena arena = make_arena(arena_bytes);
  RangeAllocator allocator(256);
  allocator.add_range(arena.get(), arena_bytes / 2);
  allocator.add_range(arena.get() + arena_bytes / 2, arena_bytes / 2);
  auto seed_rng = test::fresh_rng();
  std::vector<std::uint64_t> seeds;
  for (int t = 0; t < threads; ++t) seeds.push_back(seed_rng());
  std::atomic<int> corrupted{0};
  std::atomic<int> granted{0};
  std::barrier start(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(seeds[static_cast<std::size_t>(t)]);
      std::vector<std::pair<unsigned char*, std::size_t>> mine;
      const auto mark = static_cast<unsigned char>(t + 1);
      start.arrive_and_wait();
      for (int step = 0; step < 4000; ++step) {
        if (mine.empty() || rng() % 100 < 55) {
          const std::size_t bytes = 1 + rng() % 20000;
          auto* p = static_cast<unsigned char*>(allocator.allocate(bytes, std::size_t{1} << (rng() % 13)));
          if (p == nullptr) continue;
          ++granted;
          std::memset(p, mark, bytes);
          mine.emplace_back(p, bytes);
        } else {
          const std::size_t index = rng() % mine.size();
          auto [p, bytes] = mine[index];
          mine[index] = mine.back();
          mine.pop_back();
          if (std::count(p, p + bytes, mark) != static_cast<std::ptrdiff_t>(bytes)) ++corrupted;
          allocator.deallocate(p);
        }
      }
      for (auto [p, bytes] : mine) {
        if (std::count(p, p + bytes, mark) != static_cast<std::ptrdiff_t>(bytes)) ++corrupted;
        allocator.deallocate(p);
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(corrupted.load(), 0) << "a block was handed to two threads at once";
  EXPECT_GT(granted.load(), threads * 1000);
  EXPECT_EQ(allocator.used_bytes(), 0u);
  EXPECT_EQ(allocator.free_block_count(), 2u);
}

}  // namespace
}  // namespace ghtier
