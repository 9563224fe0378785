// Route choice per platform profile: every mode pair on GH200, x86+HMM and plain PCIe, against expectations
// written from the issue: pageable memory is staged where the GPU cannot reach it through ATS, goes direct
// on GH200; two CPU-side buffers are copied by CPU threads; lanes follow the side of the link.
#include "engine/transfer_route.hpp"

#include <gtest/gtest.h>

#include <string>

#include "test_support.hpp"

namespace ghtier::detail {
namespace {

bool host_side(MemoryMode m) { return m == MemoryMode::pinned_host || m == MemoryMode::system; }

TransferRoute expected_route(const std::string& profile, MemoryMode src, MemoryMode dst) {
  TransferRoute r;
  if (!host_side(src) && host_side(dst))
    r.lane = LaneId::to_host;
  else if (host_side(src) && !host_side(dst))
    r.lane = LaneId::to_device;
  else
    r.lane = LaneId::local;
  r.staging = r.lane == LaneId::to_host ? StagingDirection::to_host : StagingDirection::to_device;
  const bool pageable = src == MemoryMode::system || dst == MemoryMode::system;
  if (host_side(src) && host_side(dst))
    r.mechanism = MoveMechanism::host_copy;
  else if (pageable && profile != "gh200")
    r.mechanism = MoveMechanism::staged_copy;
  else
    r.mechanism = MoveMechanism::copy_engine;
  return r;
}

TEST(TransferRoute, EveryModePairOnEveryProfile) {
  for (const std::string profile : {"gh200", "x86-h100-hmm", "x86-h100-pcie"}) {
    const Platform platform = assume_platform(profile);
    for (MemoryMode src : all_memory_modes) {
      for (MemoryMode dst : all_memory_modes) {
        const TransferRoute got = route_copy(platform, src, dst);
        const TransferRoute want = expected_route(profile, src, dst);
        EXPECT_EQ(got.mechanism, want.mechanism)
            << profile << " " << to_string(src) << " -> " << to_string(dst) << ": " << to_string(got.mechanism);
        EXPECT_EQ(got.lane, want.lane) << profile << " " << to_string(src) << " -> " << to_string(dst);
        if (got.mechanism == MoveMechanism::staged_copy) {
          EXPECT_EQ(got.staging, want.staging) << profile << " " << to_string(src) << " -> " << to_string(dst);
        }
      }
    }
  }
}

TEST(TransferRoute, PageableOffloadOnEachProfile) {
  // The headline cases: device -> malloc'd memory and back.
  EXPECT_EQ(route_copy(assume_platform("gh200"), MemoryMode::device, MemoryMode::system).mechanism,
            MoveMechanism::copy_engine);
  EXPECT_EQ(route_copy(assume_platform("x86-h100-pcie"), MemoryMode::device, MemoryMode::system).mechanism,
            MoveMechanism::staged_copy);
  EXPECT_EQ(route_copy(assume_platform("x86-h100-hmm"), MemoryMode::system, MemoryMode::device).mechanism,
            MoveMechanism::staged_copy);
  EXPECT_EQ(route_copy(assume_platform("x86-h100-pcie"), MemoryMode::pinned_host, MemoryMode::device).mechanism,
            MoveMechanism::copy_engine);
}

TEST(TransferRoute, Prefetch) {
  for (const std::string profile : {"gh200", "x86-h100-hmm", "x86-h100-pcie"}) {
    const Platform platform = assume_platform(profile);
    EXPECT_EQ(route_prefetch(platform, MemoryMode::managed, PrefetchTarget::device), LaneId::to_device) << profile;
    EXPECT_EQ(route_prefetch(platform, MemoryMode::managed, PrefetchTarget::host), LaneId::to_host) << profile;
    // Device and pinned memory cannot migrate: unsupported, the same status as Runtime::prefetch gives.
    EXPECT_GHTIER_ERROR((void)route_prefetch(platform, MemoryMode::device, PrefetchTarget::device),
                        ErrorCode::unsupported);
    EXPECT_GHTIER_ERROR((void)route_prefetch(platform, MemoryMode::pinned_host, PrefetchTarget::host),
                        ErrorCode::unsupported);
  }
  // System memory migrates only where the GPU has pageable access (ATS or HMM).
  EXPECT_EQ(route_prefetch(assume_platform("gh200"), MemoryMode::system, PrefetchTarget::device), LaneId::to_device);
  EXPECT_EQ(route_prefetch(assume_platform("x86-h100-hmm"), MemoryMode::system, PrefetchTarget::device),
            LaneId::to_device);
  EXPECT_GHTIER_ERROR(
      (void)route_prefetch(assume_platform("x86-h100-pcie"), MemoryMode::system, PrefetchTarget::device),
      ErrorCode::unsupported);
  // Managed memory that does not migrate (no concurrent managed access) cannot be prefetched.
  Platform old = assume_platform("x86-h100-pcie");
  old.managed_migrates = false;
  EXPECT_GHTIER_ERROR((void)route_prefetch(old, MemoryMode::managed, PrefetchTarget::device), ErrorCode::unsupported);
}

}  // namespace
}  // namespace ghtier::detail
