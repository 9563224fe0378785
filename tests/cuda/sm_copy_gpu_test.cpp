// GPU tests of sm_copy and sm_copy_2d against the source bytes on fresh random data: sizes around every
// boundary of the kernel (byte-wise, 16-byte body, 16 KiB warp tasks), every mutual alignment, every pair
// of tiers, guard bytes around the destination (nothing written outside it), and pageable refusal.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ghtier/error.hpp"
#include "ghtier/kernels/sm_copy.hpp"
#include "test_support.hpp"
#include "tier_buffer.hpp"

using namespace ghtier;
using test::Tier;
using test::TierBuffer;

namespace {
constexpr unsigned char poison_byte = 0x5A;
constexpr std::size_t guard = 64;

using ghtier::test::random_bytes;

/// Equal vectors, or the first differing byte.
::testing::AssertionResult same_bytes(const std::vector<unsigned char>& expected,
                                      const std::vector<unsigned char>& got) {
  if (expected == got) return ::testing::AssertionSuccess();
  if (expected.size() != got.size()) {
    return ::testing::AssertionFailure() << "size " << got.size() << " != " << expected.size();
  }
  std::size_t b = 0;
  while (expected[b] == got[b]) ++b;
  return ::testing::AssertionFailure() << "byte " << b << ": got " << int(got[b]) << ", expected " << int(expected[b]);
}

/// Copies `bytes` from src_tier at src_offset to dst_tier at guard + dst_offset; checks the copy and that
/// every other destination byte still holds the poison.
void check_copy(std::mt19937_64& rng, Tier src_tier, Tier dst_tier, std::size_t bytes, std::size_t src_offset,
                std::size_t dst_offset, cudaStream_t stream) {
  SCOPED_TRACE(std::string(test::to_string(src_tier)) + " -> " + test::to_string(dst_tier) + ", " +
               std::to_string(bytes) + " B, src +" + std::to_string(src_offset) + ", dst +" +
               std::to_string(dst_offset));
  const std::vector<unsigned char> data = random_bytes(rng, bytes);
  TierBuffer src(src_tier, bytes + src_offset);
  src.upload(data.data(), bytes, src_offset);
  TierBuffer dst(dst_tier, guard + dst_offset + bytes + guard);
  dst.poison(poison_byte);
  sm_copy(dst.data() + guard + dst_offset, src.data() + src_offset, bytes, stream);
  TEST_CUDA(cudaStreamSynchronize(stream));
  std::vector<unsigned char> expected(dst.size(), poison_byte);
  std::copy(data.begin(), data.end(), expected.begin() + static_cast<std::ptrdiff_t>(guard + dst_offset));
  EXPECT_TRUE(same_bytes(expected, dst.download()));
}
}  // namespace

TEST(SmCopy, EverySizeClassAndMutualAlignment) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  test::TestStream stream;
  const std::vector<std::size_t> sizes = {
      1, 15, 16, 63, 64, 65, 1000, 16383, 16384, 16385, 3 * 16384 + 7, (1u << 20) + 13};
  for (std::size_t bytes : sizes) {
    for (std::size_t src_offset : {0u, 1u, 4u, 8u, 15u}) {
      for (std::size_t dst_offset : {0u, 3u, 8u}) {
        check_copy(rng, Tier::pinned, Tier::device, bytes, src_offset, dst_offset, stream.get());
      }
    }
  }
}

TEST(SmCopy, EveryPairOfTiers) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  test::TestStream stream;
  const std::vector<Tier> tiers = {Tier::device, Tier::pinned, Tier::managed, Tier::system};
  for (Tier from : tiers) {
    for (Tier to : tiers) {
      if (!test::gpu_reaches(from) || !test::gpu_reaches(to)) continue;  // system without ATS/HMM: see below
      for (const auto& [src_offset, dst_offset] : {std::pair<std::size_t, std::size_t>{0, 0}, {5, 0}, {0, 7}}) {
        check_copy(rng, from, to, 100000 + 3, src_offset, dst_offset, stream.get());
      }
    }
  }
  if (!test::gpu_reaches(Tier::system)) {
    std::printf("[ note     ] system memory skipped: this GPU cannot access pageable memory (no ATS/HMM)\n");
  }
}

TEST(SmCopy, LargeMisalignedCopyUsesEveryWarpManyTimes) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  test::TestStream stream;
  // 64 MiB is 4096 tasks of 16 KiB: more than the grid's warps, so each warp loops.
  check_copy(rng, Tier::pinned, Tier::device, (64u << 20) + 5, 3, 9, stream.get());
  check_copy(rng, Tier::device, Tier::pinned, (64u << 20) + 5, 0, 0, stream.get());
}

TEST(SmCopy2D, RowsOfEveryWidthAndPitch) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  test::TestStream stream;
  for (std::size_t width : {1u, 7u, 16u, 100u, 1024u, 5000u, 40000u}) {
    for (std::size_t height : {1u, 3u, 257u}) {
      if (width * height > (8u << 20)) continue;
      for (const auto& [src_extra, dst_extra] :
           {std::pair<std::size_t, std::size_t>{0, 0}, {1, 16}, {16, 3}, {64, 64}}) {
        for (std::size_t offset : {0u, 5u}) {
          SCOPED_TRACE(std::to_string(height) + " rows of " + std::to_string(width) + " B, pitches +" +
                       std::to_string(src_extra) + "/+" + std::to_string(dst_extra) + ", offset " +
                       std::to_string(offset));
          const std::size_t src_pitch = width + src_extra;
          const std::size_t dst_pitch = width + dst_extra;
          const std::vector<unsigned char> data = random_bytes(rng, src_pitch * height);
          TierBuffer src(Tier::pinned, data.size() + offset);
          src.upload(data.data(), data.size(), offset);
          TierBuffer dst(Tier::device, dst_pitch * height + offset + guard);
          dst.poison(poison_byte);
          sm_copy_2d(dst.data() + offset, dst_pitch, src.data() + offset, src_pitch, width, height, stream.get());
          TEST_CUDA(cudaStreamSynchronize(stream.get()));
          std::vector<unsigned char> expected(dst.size(), poison_byte);  // before, between and after rows
          for (std::size_t row = 0; row < height; ++row) {
            std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(row * src_pitch), width,
                        expected.begin() + static_cast<std::ptrdiff_t>(offset + row * dst_pitch));
          }
          ASSERT_TRUE(same_bytes(expected, dst.download()));
        }
      }
    }
  }
}

TEST(SmCopyPageable, RefusedWhereTheGpuCannotReachIt) {
  GHTIER_REQUIRE_GPU();
  std::vector<unsigned char> host(4096, 7);
  TierBuffer device(Tier::device, 4096);
  test::TestStream stream;
  if (test::gpu_reaches(Tier::system)) {
    sm_copy(device.data(), host.data(), host.size(), stream.get());
    stream.sync();
    EXPECT_EQ(device.download(), host);
    return;
  }
  EXPECT_GHTIER_ERROR(sm_copy(device.data(), host.data(), host.size(), stream.get()), ErrorCode::unsupported);
  EXPECT_GHTIER_ERROR(sm_copy(host.data(), device.data(), host.size(), stream.get()), ErrorCode::unsupported);
  EXPECT_GHTIER_ERROR(sm_copy_2d(device.data(), 64, host.data(), 64, 64, 64, stream.get()), ErrorCode::unsupported);
  try {
    sm_copy(device.data(), host.data(), host.size(), stream.get());
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sm_copy src"), std::string::npos) << e.what();
  }
}
