// TrackingAdaptor on a malloc-backed fake upstream: records and tags, interior pointers, foreign pointers,
// double frees (checked and unchecked), wrong sizes, and 16 threads allocating, looking up and freeing.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fake_upstream.hpp"
#include "ghtier/memory/tracking_adaptor.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

TEST(TrackingAdaptor, RecordsBaseSizeModeAndTag) {
  test::FakeUpstream upstream(MemoryMode::pinned_host);
  TrackingAdaptor tracker(upstream);
  auto* p = static_cast<unsigned char*>(tracker.allocate(1000, 256, "kv-cache"));
  const auto record = tracker.find(p);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->base, p);
  EXPECT_EQ(record->bytes, 1000u);
  EXPECT_EQ(record->mode, MemoryMode::pinned_host);
  EXPECT_EQ(record->tag, "kv-cache");
  EXPECT_EQ(tracker.live_count(), 1u);
  EXPECT_EQ(tracker.live_bytes(), 1000u);
  tracker.deallocate(p);
  EXPECT_FALSE(tracker.find(p).has_value());
  EXPECT_EQ(tracker.live_count(), 0u);
  EXPECT_EQ(upstream.live_count(), 0u);
  EXPECT_EQ(upstream.mismatched_frees.load(), 0) << "the checked free passed another size or alignment upstream";
}

TEST(TrackingAdaptor, FindsInteriorPointersAndNothingPastTheEnd) {
  test::FakeUpstream upstream;
  TrackingAdaptor tracker(upstream);
  std::vector<unsigned char*> blocks;
  for (std::size_t bytes : {1u, 17u, 4096u, 100000u}) {
    blocks.push_back(static_cast<unsigned char*>(tracker.allocate(bytes, 64, "b" + std::to_string(bytes))));
  }
  for (unsigned char* base : blocks) {
    const auto record = tracker.find(base);
    ASSERT_TRUE(record.has_value());
    for (std::size_t offset : {std::size_t{0}, record->bytes / 2, record->bytes - 1}) {
      const auto inside = tracker.find(base + offset);
      ASSERT_TRUE(inside.has_value()) << "offset " << offset << " of " << record->bytes;
      EXPECT_EQ(inside->base, base);
      EXPECT_EQ(inside->tag, record->tag);
    }
    const auto past = tracker.find(base + record->bytes);
    EXPECT_TRUE(!past.has_value() || past->base != static_cast<void*>(base)) << "one past the end was found";
  }
  const auto records = tracker.live_allocations();
  ASSERT_EQ(records.size(), blocks.size());
  EXPECT_TRUE(std::is_sorted(records.begin(), records.end(),
                             [](const AllocationRecord& a, const AllocationRecord& b) { return a.base < b.base; }));
  for (unsigned char* base : blocks) tracker.deallocate(base);
}

TEST(TrackingAdaptor, CheckedFreeRefusesForeignInteriorAndDoubleFrees) {
  test::FakeUpstream upstream;
  TrackingAdaptor tracker(upstream);
  auto* p = static_cast<unsigned char*>(tracker.allocate(512));
  int local = 0;
  EXPECT_GHTIER_ERROR(tracker.deallocate(&local), ErrorCode::not_found);
  EXPECT_GHTIER_ERROR(tracker.deallocate_async(&local, nullptr), ErrorCode::not_found);
  EXPECT_GHTIER_ERROR(tracker.deallocate(p + 10), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(tracker.deallocate(static_cast<void*>(nullptr)), ErrorCode::invalid_argument);
  EXPECT_TRUE(tracker.find(p).has_value()) << "a refused free removed the record";
  EXPECT_EQ(upstream.frees.load(), 0);
  tracker.deallocate(p);
  EXPECT_GHTIER_ERROR(tracker.deallocate(p), ErrorCode::not_found);
  EXPECT_EQ(upstream.frees.load(), 1);
  EXPECT_EQ(upstream.unknown_frees.load(), 0) << "a refused pointer reached the upstream";
}

TEST(TrackingAdaptor, UncheckedFreeOfUnknownPointersIsLoggedNotPassedOn) {
  test::FakeUpstream upstream;
  TrackingAdaptor tracker(upstream);
  MemoryResource& resource = tracker;  // the noexcept interface
  void* p = resource.allocate(256);
  int local = 0;
  resource.deallocate(&local, 4);
  resource.deallocate(p, 256);
  resource.deallocate(p, 256);  // double free
  resource.deallocate(nullptr, 1);
  EXPECT_EQ(upstream.frees.load(), 1);
  EXPECT_EQ(upstream.unknown_frees.load(), 0);
  EXPECT_EQ(tracker.live_count(), 0u);
}

TEST(TrackingAdaptor, UncheckedFreeWithAWrongSizeFreesWhatWasAllocated) {
  test::FakeUpstream upstream;
  TrackingAdaptor tracker(upstream);
  void* p = tracker.allocate(3000, 1024);
  tracker.deallocate(p, 10, 256);
  EXPECT_EQ(upstream.freed_size(p), 3000u);
  EXPECT_EQ(upstream.mismatched_frees.load(), 0);
  EXPECT_EQ(upstream.live_count(), 0u);
}

TEST(TrackingAdaptor, FailedUpstreamAllocationLeavesNoRecord) {
  test::FakeUpstream upstream;
  TrackingAdaptor tracker(upstream);
  upstream.fail_next = 1;
  EXPECT_GHTIER_ERROR((void)tracker.allocate(64, 256, "x"), ErrorCode::out_of_memory);
  EXPECT_GHTIER_ERROR((void)tracker.allocate(0), ErrorCode::invalid_argument);
  EXPECT_EQ(tracker.live_count(), 0u);
}

TEST(TrackingAdaptor, SixteenThreadsAllocateFindAndFree) {
  constexpr int threads = 16;
  test::FakeUpstream upstream(MemoryMode::device);
  TrackingAdaptor tracker(upstream);
  auto seed_rng = test::fresh_rng();
  std::vector<std::uint64_t> seeds;
  for (int t = 0; t < threads; ++t) seeds.push_back(seed_rng());
  std::atomic<int> wrong{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(seeds[static_cast<std::size_t>(t)]);
      const std::string tag = "thread-" + std::to_string(t);
      std::vector<std::pair<unsigned char*, std::size_t>> mine;
      for (int step = 0; step < 2000; ++step) {
        if (mine.empty() || rng() % 100 < 55) {
          const std::size_t bytes = 1 + rng() % 5000;
          mine.emplace_back(static_cast<unsigned char*>(tracker.allocate(bytes, 256, tag)), bytes);
        } else {
          const std::size_t index = rng() % mine.size();
          auto [p, bytes] = mine[index];
          const auto record = tracker.find(p + rng() % bytes);
          if (!record || record->base != p || record->bytes != bytes || record->tag != tag) ++wrong;
          if (rng() % 2 == 0) {
            tracker.deallocate(p);
          } else {
            tracker.deallocate(p, bytes);
          }
          mine[index] = mine.back();
          mine.pop_back();
        }
      }
      for (auto [p, bytes] : mine) tracker.deallocate(p);
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(tracker.live_count(), 0u);
  EXPECT_EQ(tracker.live_bytes(), 0u);
  EXPECT_EQ(upstream.live_count(), 0u);
  EXPECT_EQ(upstream.unknown_frees.load(), 0);
  EXPECT_EQ(upstream.mismatched_frees.load(), 0);
}

}  // namespace
}  // namespace ghtier
