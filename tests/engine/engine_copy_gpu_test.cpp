// The engine moves the right bytes: every tier pair, random sizes from 1 byte up (a few 1 GiB cases),
// unaligned offsets, fresh random data, poisoned destinations with guards; batches of small copies by both
// mechanisms; registered host buffers go at the pinned rate's path (no staging).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine_test_buffers.hpp"
#include "ghtier/engine/host_registration.hpp"
#include "ghtier/engine/transfer_engine.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

using test::ModeBuffer;

constexpr std::size_t KiB = 1024;
constexpr std::size_t MiB = 1024 * KiB;
constexpr std::size_t guard = 64;  // poisoned bytes before and after every destination

const std::array<MemoryMode, 4> modes{MemoryMode::device, MemoryMode::pinned_host, MemoryMode::managed,
                                      MemoryMode::system};

class EngineCopyGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    GHTIER_REQUIRE_GPU();
    platform_ = detect_platform(0);
  }
  Platform platform_;
};

// Copies `n` bytes from a `from` buffer at src_offset into a `to` buffer at guard + dst_offset, with the
// given engine and priority, and checks the destination holds exactly the source's bytes.
void copy_and_check(TransferEngine& engine, std::mt19937_64& rng, MemoryMode from, MemoryMode to, std::size_t n,
                    std::size_t src_offset, std::size_t dst_offset, TransferPriority priority) {
  SCOPED_TRACE(std::string(to_string(from)) + " -> " + std::string(to_string(to)) + ", " + std::to_string(n) +
               " bytes, offsets " + std::to_string(src_offset) + "/" + std::to_string(dst_offset) + ", " +
               std::string(to_string(priority)));
  ModeBuffer src(from, src_offset + n);
  ModeBuffer dst(to, guard + dst_offset + n + guard);
  const std::vector<unsigned char> data = test::random_bytes(rng, n);
  src.upload(src_offset, data.data(), n);
  dst.poison();
  CopyRequest request;
  request.dst = dst.data() + guard + dst_offset;
  request.src = src.data() + src_offset;
  request.bytes = n;
  request.priority = priority;
  CompletionToken token = engine.submit(request);
  ASSERT_EQ(token.wait(), TransferStatus::completed) << (token.error() ? token.error()->what() : "");
  EXPECT_TRUE(token.ready());
  EXPECT_EQ(token.bytes(), n);
  EXPECT_TRUE(test::holds_exactly(dst.download(), guard + dst_offset, data.data(), n));
}

TEST_F(EngineCopyGpu, EveryTierPairAtRandomSizesAndOffsets) {
  auto rng = test::fresh_rng();
  TransferEngine engine(platform_, 0);
  // Sizes around the chunk (8 MiB) and staging slot (8 MiB) boundaries, and random ones.
  std::vector<std::size_t> sizes{1, 7, 4096, 4097, 65537, MiB + 13, 8 * MiB, 8 * MiB + 1, 21 * MiB + 5};
  for (int i = 0; i < 3; ++i) sizes.push_back(std::uniform_int_distribution<std::size_t>(1, 24 * MiB)(rng));
  for (MemoryMode from : modes) {
    for (MemoryMode to : modes) {
      for (std::size_t n : sizes) {
        const std::size_t src_offset = std::uniform_int_distribution<std::size_t>(0, 63)(rng);
        const std::size_t dst_offset = std::uniform_int_distribution<std::size_t>(0, 63)(rng);
        const auto priority =
            std::bernoulli_distribution(0.5)(rng) ? TransferPriority::urgent : TransferPriority::background;
        copy_and_check(engine, rng, from, to, n, src_offset, dst_offset, priority);
        if (HasFatalFailure()) return;
      }
    }
  }
  const TransferStatistics stats = engine.statistics();
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_EQ(stats.completed, stats.submitted);
  EXPECT_GT(stats.to_device.bytes, 0u);
  EXPECT_GT(stats.to_host.bytes, 0u);
  EXPECT_GT(stats.local.bytes, 0u);
  if (platform_.host_access != HostAccess::ats) {
    // Pageable memory crossed the link through the rings (and they were allocated on first use).
    EXPECT_GT(stats.staging_to_device.bytes_staged, 0u);
    EXPECT_GT(stats.staging_to_host.bytes_staged, 0u);
    EXPECT_EQ(stats.staging_to_device.slots, engine.options().staging_slots);
  }
}

TEST_F(EngineCopyGpu, SmallChunksAndSlotsStillMoveEveryByte) {
  // Tiny chunks and a two-slot ring exercise the chunk and ring bookkeeping hard.
  auto rng = test::fresh_rng();
  TransferEngineOptions options;
  options.chunk_bytes = 64 * KiB;
  options.staging_chunk_bytes = 64 * KiB;
  options.staging_slots = 2;
  options.copy_threads = 3;
  TransferEngine engine(platform_, 0, nullptr, options);
  for (MemoryMode from : modes) {
    for (MemoryMode to : modes) {
      const std::size_t n = std::uniform_int_distribution<std::size_t>(MiB, 3 * MiB)(rng);
      copy_and_check(engine, rng, from, to, n, 5, 3, TransferPriority::background);
      if (HasFatalFailure()) return;
    }
  }
}

TEST_F(EngineCopyGpu, OneGibibyteTransfers) {
  // A few 1 GiB cases: pinned -> device (chunked DMA) and device -> pageable (staged on PCIe), unaligned.
  auto rng = test::fresh_rng();
  TransferEngine engine(platform_, 0);
  const std::size_t n = 1024 * MiB - 9;
  ModeBuffer pinned(MemoryMode::pinned_host, n + 3);
  ModeBuffer device(MemoryMode::device, n + 64);
  ModeBuffer pageable(MemoryMode::system, n + 64);
  const std::vector<unsigned char> data = test::random_bytes(rng, n);
  pinned.upload(3, data.data(), n);
  device.poison();
  pageable.poison();
  CopyRequest h2d;
  h2d.dst = device.data() + 5;
  h2d.src = pinned.data() + 3;
  h2d.bytes = n;
  ASSERT_EQ(engine.submit(h2d).wait(), TransferStatus::completed);
  CopyRequest d2h;
  d2h.dst = pageable.data() + 11;
  d2h.src = device.data() + 5;
  d2h.bytes = n;
  d2h.priority = TransferPriority::urgent;
  ASSERT_EQ(engine.submit(d2h).wait(), TransferStatus::completed);
  std::vector<unsigned char> back = pageable.download();
  EXPECT_TRUE(std::all_of(back.begin(), back.begin() + 11, [](unsigned char b) { return b == test::poison_byte; }));
  EXPECT_EQ(0, std::memcmp(back.data() + 11, data.data(), n));
  EXPECT_TRUE(std::all_of(back.begin() + 11 + static_cast<std::ptrdiff_t>(n), back.end(),
                          [](unsigned char b) { return b == test::poison_byte; }));
}

void batch_and_check(TransferEngine& engine, std::mt19937_64& rng, MemoryMode from, MemoryMode to, std::size_t items,
                     bool with_hints) {
  SCOPED_TRACE(std::string(to_string(from)) + " -> " + std::string(to_string(to)) + ", " + std::to_string(items) +
               " items" + (with_hints ? ", with mode hints" : ""));
  // Items of 1 byte .. 64 KiB scattered through both buffers in a random order, with gaps between them.
  std::vector<std::size_t> sizes(items);
  std::size_t total = 0;
  for (auto& s : sizes) {
    s = std::uniform_int_distribution<std::size_t>(1, 64 * KiB)(rng);
    total += s + 32;
  }
  ModeBuffer src(from, total);
  ModeBuffer dst(to, total);
  const std::vector<unsigned char> data = test::random_bytes(rng, total);
  src.upload(0, data.data(), total);
  dst.poison();
  std::vector<std::size_t> slots(items);
  for (std::size_t i = 0; i < items; ++i) slots[i] = i;
  std::shuffle(slots.begin(), slots.end(), rng);
  std::vector<std::size_t> offsets(items);  // slot k starts at the sum of the sizes before it, plus gaps
  {
    std::vector<std::size_t> by_slot(items);
    for (std::size_t i = 0; i < items; ++i) by_slot[slots[i]] = i;
    std::size_t at = 0;
    for (std::size_t k = 0; k < items; ++k) {
      offsets[by_slot[k]] = at + 16;
      at += sizes[by_slot[k]] + 32;
    }
  }
  BatchCopyRequest request;
  for (std::size_t i = 0; i < items; ++i) {
    // Item i copies src[offsets[i]] to dst[offsets[j]] of a different item j of the same size class: use its
    // own offset in both (scattered order still, since offsets follow the shuffled slots).
    request.items.push_back({dst.data() + offsets[i], src.data() + offsets[i], sizes[i]});
  }
  if (with_hints) {
    request.src_mode = from;
    request.dst_mode = to;
  }
  request.priority = TransferPriority::urgent;
  CompletionToken token = engine.submit(request);
  ASSERT_EQ(token.wait(), TransferStatus::completed) << (token.error() ? token.error()->what() : "");
  const std::vector<unsigned char> got = dst.download();
  std::vector<unsigned char> expected(total, test::poison_byte);
  for (std::size_t i = 0; i < items; ++i) {
    std::memcpy(expected.data() + offsets[i], data.data() + offsets[i], sizes[i]);
  }
  ASSERT_EQ(got.size(), expected.size());
  std::size_t first = 0;
  while (first < got.size() && got[first] == expected[first]) ++first;
  EXPECT_EQ(first, got.size()) << "first wrong byte at " << first;
}

TEST_F(EngineCopyGpu, BatchesThroughTheCopyEngine) {
  auto rng = test::fresh_rng();
  TransferEngineOptions options;
  options.batch_mechanism = BatchMechanism::copy_engine;
  options.batch_max_items = 300;  // several batch calls
  TransferEngine engine(platform_, 0, nullptr, options);
  batch_and_check(engine, rng, MemoryMode::pinned_host, MemoryMode::device, 2000, true);
  batch_and_check(engine, rng, MemoryMode::device, MemoryMode::pinned_host, 1000, false);
  batch_and_check(engine, rng, MemoryMode::device, MemoryMode::device, 500, false);
  // Pageable items go through the staging ring, one job each, under the same token.
  batch_and_check(engine, rng, MemoryMode::system, MemoryMode::device, 40, false);
  batch_and_check(engine, rng, MemoryMode::device, MemoryMode::system, 40, true);
  const TransferStatistics stats = engine.statistics();
  EXPECT_GT(stats.batch_calls + stats.batch_fallback_calls, 0u);
  EXPECT_EQ(stats.sm_batch_launches, 0u);
}

TEST_F(EngineCopyGpu, AutomaticBatchesTakeTheKernelForSmallBlocksOfFixedPages) {
  auto rng = test::fresh_rng();
  TransferEngine engine(platform_, 0);  // default options: BatchMechanism::automatic
  ASSERT_EQ(engine.options().batch_mechanism, BatchMechanism::automatic);
  batch_and_check(engine, rng, MemoryMode::pinned_host, MemoryMode::device, 3000, true);
  batch_and_check(engine, rng, MemoryMode::device, MemoryMode::pinned_host, 1200, false);
  const std::uint64_t launches = engine.statistics().sm_batch_launches;
  EXPECT_GT(launches, 0u);
  // A managed source would migrate under a kernel's reads: the copy engine takes it.
  batch_and_check(engine, rng, MemoryMode::managed, MemoryMode::device, 300, false);
  EXPECT_EQ(engine.statistics().sm_batch_launches, launches);
}

TEST_F(EngineCopyGpu, BatchesThroughTheSmKernel) {
  auto rng = test::fresh_rng();
  TransferEngineOptions options;
  options.batch_mechanism = BatchMechanism::sm_kernel;
  TransferEngine engine(platform_, 0, nullptr, options);
  batch_and_check(engine, rng, MemoryMode::pinned_host, MemoryMode::device, 2000, false);
  batch_and_check(engine, rng, MemoryMode::device, MemoryMode::pinned_host, 1500, true);
  batch_and_check(engine, rng, MemoryMode::managed, MemoryMode::device, 300, false);
  // Not GPU-reachable on PCIe: these fall back to staged copies, still correct.
  batch_and_check(engine, rng, MemoryMode::system, MemoryMode::device, 20, false);
  EXPECT_GT(engine.statistics().batch_calls, 0u);
  EXPECT_GT(engine.statistics().sm_batch_launches, 0u);
}

TEST_F(EngineCopyGpu, LoopFallbackWhenTheBatchApiIsOff) {
  auto rng = test::fresh_rng();
  TransferEngineOptions options;
  options.batch_mechanism = BatchMechanism::copy_engine;
  options.use_batch_api = false;
  TransferEngine engine(platform_, 0, nullptr, options);
  batch_and_check(engine, rng, MemoryMode::pinned_host, MemoryMode::device, 700, true);
  EXPECT_EQ(engine.statistics().batch_calls, 0u);
}

TEST_F(EngineCopyGpu, RegisteredHostMemoryGoesDirect) {
  auto rng = test::fresh_rng();
  TransferEngine engine(platform_, 0);
  const std::size_t n = 24 * MiB + 3;
  ModeBuffer host(MemoryMode::system, n);
  ModeBuffer device(MemoryMode::device, n);
  const std::vector<unsigned char> data = test::random_bytes(rng, n);
  host.upload(0, data.data(), n);
  device.poison();
  {
    HostRegistration registration(host.data(), n);
    EXPECT_TRUE(registration.registered());
    EXPECT_EQ(registration.data(), host.data());
    EXPECT_EQ(registration.size(), n);
    // Registering the same pages again is refused with a clear error.
    EXPECT_GHTIER_ERROR(HostRegistration(host.data(), 4096), ErrorCode::invalid_argument);
    const std::uint64_t staged_before = engine.statistics().staging_to_device.bytes_staged;
    CopyRequest request = test::copy_of(device.data(), host.data(), n);
    ASSERT_EQ(engine.submit(request).wait(), TransferStatus::completed);
    // Registered memory is pinned memory: no byte went through the staging ring.
    EXPECT_EQ(engine.statistics().staging_to_device.bytes_staged, staged_before);
    HostRegistration moved = std::move(registration);
    EXPECT_FALSE(registration.registered());  // NOLINT(bugprone-use-after-move): moved-from state is specified
    EXPECT_TRUE(moved.registered());
  }
  EXPECT_TRUE(test::holds_exactly(device.download(), 0, data.data(), n));
  // After unregistering, the same memory can be registered again.
  HostRegistration again(host.data(), n);
  again.reset();
  EXPECT_FALSE(again.registered());
  // Already page-locked memory needs no registration and says so.
  ModeBuffer pinned(MemoryMode::pinned_host, 4096);
  EXPECT_GHTIER_ERROR(HostRegistration(pinned.data(), 4096), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace ghtier
