// GPU tests of the kernels' C API (ghtier_kernels.h) against a CPU reference on fresh random data: each
// function once through its C entry point, with both index types and an index-check handle.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "c_api_test_runtime.hpp"
#include "ghtier/ghtier.h"
#include "test_support.hpp"
#include "tier_buffer.hpp"

using ghtier::test::Tier;
using ghtier::test::TierBuffer;

namespace {
using ghtier::test::random_bytes;
}  // namespace

TEST(KernelsCApiGpu, GatherSortedGatherScatterAndRowCache) {
  GHTIER_REQUIRE_GPU();
  auto rng = ghtier::test::fresh_rng();
  const std::size_t row_bytes = 100;
  const std::size_t num_rows = 500;
  const std::size_t count = 800;
  const std::vector<unsigned char> host = random_bytes(rng, num_rows * row_bytes);
  TierBuffer table(Tier::pinned, host.size());
  table.upload(host.data(), host.size());
  std::uniform_int_distribution<std::int32_t> row(0, static_cast<std::int32_t>(num_rows) - 1);
  std::vector<std::int32_t> idx32(count);
  for (auto& i : idx32) i = row(rng);
  const std::vector<std::int64_t> idx64(idx32.begin(), idx32.end());
  std::vector<unsigned char> expected(count * row_bytes);
  for (std::size_t i = 0; i < count; ++i) {
    std::memcpy(expected.data() + i * row_bytes, host.data() + static_cast<std::size_t>(idx32[i]) * row_bytes,
                row_bytes);
  }
  TierBuffer d_idx32(Tier::device, count * 4);
  d_idx32.upload(idx32.data(), count * 4);
  TierBuffer d_idx64(Tier::device, count * 8);
  d_idx64.upload(idx64.data(), count * 8);
  TierBuffer out(Tier::device, count * row_bytes);
  ghtier::test::TestStream stream;
  void* s = stream.get();

  out.poison();
  ASSERT_EQ(ghtier_gather(ghtier::test::test_runtime(), table.data(), row_bytes, num_rows, d_idx32.data(),
                          GHTIER_INDEX_INT32, count, out.data(), s, nullptr),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  EXPECT_EQ(out.download(), expected);
  out.poison();
  ASSERT_EQ(ghtier_sorted_gather(ghtier::test::test_runtime(), table.data(), row_bytes, num_rows, d_idx64.data(),
                                 GHTIER_INDEX_INT64, count, out.data(), s, nullptr),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  EXPECT_EQ(out.download(), expected);

  // Row cache over the same table: result, statistics, info.
  const std::int64_t hot[] = {idx64[0], idx64[1] == idx64[0] ? (idx64[0] + 1) % 500 : idx64[1]};
  ghtier_row_cache_t* cache = nullptr;
  ASSERT_EQ(ghtier_row_cache_create(ghtier::test::test_runtime(), table.data(), row_bytes, num_rows, hot, 2, s, &cache),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  out.poison();
  ASSERT_EQ(ghtier_row_cache_gather(cache, d_idx64.data(), GHTIER_INDEX_INT64, count, out.data(), s, nullptr),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  EXPECT_EQ(out.download(), expected);
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  ASSERT_EQ(ghtier_row_cache_get_statistics(cache, s, &hits, &misses), GHTIER_SUCCESS);
  std::uint64_t expected_hits = 0;
  for (std::int64_t i : idx64) expected_hits += (i == hot[0] || i == hot[1]) ? 1 : 0;
  EXPECT_EQ(hits, expected_hits);
  EXPECT_EQ(hits + misses, count);
  std::size_t cached = 0;
  std::size_t device_bytes = 0;
  ASSERT_EQ(ghtier_row_cache_get_info(cache, &cached, &device_bytes), GHTIER_SUCCESS);
  EXPECT_EQ(cached, 2u);
  EXPECT_GE(device_bytes, 2 * row_bytes);
  EXPECT_EQ(ghtier_row_cache_destroy(cache), GHTIER_SUCCESS);
  // A handle, not an address: destroying or using it again is a clear error, never a crash.
  EXPECT_EQ(ghtier_row_cache_destroy(cache), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_row_cache_get_info(cache, nullptr, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);

  // Scatter the gathered rows back into a copy of the table at distinct positions, with an index check.
  TierBuffer copy(Tier::device, host.size());
  copy.poison(0);
  std::vector<std::int64_t> distinct(num_rows);
  for (std::size_t i = 0; i < num_rows; ++i) distinct[i] = static_cast<std::int64_t>((i * 7) % num_rows);
  TierBuffer d_distinct(Tier::device, num_rows * 8);
  d_distinct.upload(distinct.data(), num_rows * 8);
  TierBuffer rows(Tier::device, host.size());
  rows.upload(host.data(), host.size());
  ghtier_index_check_t* check = nullptr;
  ASSERT_EQ(ghtier_index_check_create(ghtier::test::test_runtime(), &check), GHTIER_SUCCESS);
  ASSERT_EQ(ghtier_scatter(ghtier::test::test_runtime(), rows.data(), row_bytes, num_rows, d_distinct.data(),
                           GHTIER_INDEX_INT64, copy.data(), num_rows, s, check),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  EXPECT_EQ(ghtier_index_check_verify(check, s), GHTIER_SUCCESS) << ghtier_error_message();
  std::vector<unsigned char> scattered(host.size());
  for (std::size_t i = 0; i < num_rows; ++i) {
    std::memcpy(scattered.data() + static_cast<std::size_t>(distinct[i]) * row_bytes, host.data() + i * row_bytes,
                row_bytes);
  }
  EXPECT_EQ(copy.download(), scattered);

  // A bad index through the handle: the call succeeds, the check reports it.
  const std::int64_t bad[] = {3, 9999};
  TierBuffer d_bad(Tier::device, sizeof bad);
  d_bad.upload(bad, sizeof bad);
  ASSERT_EQ(ghtier_gather(ghtier::test::test_runtime(), table.data(), row_bytes, num_rows, d_bad.data(),
                          GHTIER_INDEX_INT64, 2, out.data(), s, check),
            GHTIER_SUCCESS);
  EXPECT_EQ(ghtier_index_check_verify(check, s), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("9999"), std::string::npos) << ghtier_error_message();
  EXPECT_EQ(ghtier_index_check_destroy(check), GHTIER_SUCCESS);
  EXPECT_EQ(ghtier_index_check_destroy(check), GHTIER_ERROR_INVALID_ARGUMENT);  // twice: an error, not a crash
  EXPECT_EQ(ghtier_index_check_verify(check, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
}

TEST(KernelsCApiGpu, SmCopyAndPageableRefusal) {
  GHTIER_REQUIRE_GPU();
  auto rng = ghtier::test::fresh_rng();
  const std::vector<unsigned char> data = random_bytes(rng, 10000);
  TierBuffer src(Tier::pinned, data.size());
  src.upload(data.data(), data.size());
  TierBuffer dst(Tier::device, data.size());
  dst.poison();
  ghtier::test::TestStream stream;
  ASSERT_EQ(ghtier_sm_copy(dst.data(), src.data() + 1, data.size() - 1, stream.get()), GHTIER_SUCCESS);
  std::vector<unsigned char> got = dst.download();
  EXPECT_TRUE(std::equal(data.begin() + 1, data.end(), got.begin()));
  dst.poison();
  ASSERT_EQ(ghtier_sm_copy_2d(dst.data(), 100, src.data(), 100, 40, 100, stream.get()), GHTIER_SUCCESS);
  got = dst.download();
  for (std::size_t r = 0; r < 100; ++r) {
    EXPECT_TRUE(std::equal(data.begin() + r * 100, data.begin() + r * 100 + 40, got.begin() + r * 100)) << r;
  }
  if (!ghtier::test::gpu_reaches(Tier::system)) {
    std::vector<unsigned char> pageable(100);
    EXPECT_EQ(ghtier_sm_copy(dst.data(), pageable.data(), pageable.size(), stream.get()), GHTIER_ERROR_UNSUPPORTED);
    EXPECT_NE(std::string(ghtier_error_message()).find("pageable"), std::string::npos) << ghtier_error_message();
  }
}
