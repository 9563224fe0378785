// GPU tests of CpuGatherPipeline against a CPU reference on fresh random data: row widths below, at and above
// the chunk size, uniform and Zipf-like keys with duplicates, int32 and int64 keys on the host and on the
// device, pinned, system and managed tables, back-to-back calls reusing the chunks, calls many times the ring
// (keys spanning chunks, runs of one key across a chunk boundary) and calls on two streams sharing the ring,
// out-of-range keys refused (by throwing, and into an IndexCheck), and a device table refused. Outputs are
// poisoned before every call.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "gather_reference.hpp"
#include "ghtier/error.hpp"
#include "ghtier/kernels/cpu_gather_pipeline.hpp"
#include "ghtier/kernels/index_check.hpp"
#include "same_rows.hpp"
#include "test_support.hpp"
#include "tier_buffer.hpp"

using namespace ghtier;
using test::Tier;
using test::TierBuffer;

namespace {

constexpr unsigned char poison_byte = 0xA5;

using ghtier::test::random_bytes;

using ghtier::test::random_keys;
using ghtier::test::reference_gather;
using ghtier::test::same_rows;

template <class Index>
void check_gather(CpuGatherPipeline& pipeline, std::mt19937_64& rng, Tier table_tier, Tier keys_tier,
                  std::size_t row_bytes, std::size_t num_rows, std::size_t count, bool zipf, cudaStream_t stream) {
  const std::vector<unsigned char> host_table = random_bytes(rng, row_bytes * num_rows);
  TierBuffer table(table_tier, host_table.size());
  table.upload(host_table.data(), host_table.size());
  const std::vector<Index> keys = random_keys<Index>(rng, count, num_rows, zipf);
  TierBuffer d_keys(keys_tier, count * sizeof(Index));
  d_keys.upload(keys.data(), count * sizeof(Index));
  TierBuffer out(Tier::device, count * row_bytes);
  out.poison(poison_byte);
  pipeline.gather(table.data(), row_bytes, num_rows, reinterpret_cast<const Index*>(d_keys.data()), count, out.data(),
                  stream);
  TEST_CUDA(cudaStreamSynchronize(stream));
  EXPECT_TRUE(same_rows(reference_gather(host_table, row_bytes, keys), out.download(), row_bytes))
      << row_bytes << " B rows, " << count << " keys (" << sizeof(Index) * 8 << "-bit, " << test::to_string(keys_tier)
      << "), table " << test::to_string(table_tier) << (zipf ? ", zipf" : ", uniform");
}

/// Gathers `keys` (int64, on the device) from a fresh pinned table on `stream` and compares with the reference.
void check_keys(CpuGatherPipeline& pipeline, std::mt19937_64& rng, std::size_t row_bytes, std::size_t num_rows,
                const std::vector<std::int64_t>& keys, cudaStream_t stream, const std::string& what) {
  const std::vector<unsigned char> host_table = random_bytes(rng, row_bytes * num_rows);
  TierBuffer table(Tier::pinned, host_table.size());
  table.upload(host_table.data(), host_table.size());
  TierBuffer d_keys(Tier::device, keys.size() * sizeof(std::int64_t));
  d_keys.upload(keys.data(), d_keys.size());
  TierBuffer out(Tier::device, keys.size() * row_bytes);
  out.poison(poison_byte);
  pipeline.gather(table.data(), row_bytes, num_rows, reinterpret_cast<const std::int64_t*>(d_keys.data()), keys.size(),
                  out.data(), stream);
  TEST_CUDA(cudaStreamSynchronize(stream));
  EXPECT_TRUE(same_rows(reference_gather(host_table, row_bytes, keys), out.download(), row_bytes)) << what;
}

}  // namespace

TEST(CpuGatherPipelineGpu, CallsManyTimesTheRingKeepEveryRowAcrossChunkBoundaries) {
  GHTIER_REQUIRE_GPU();
  std::mt19937_64 rng = test::fresh_rng();
  test::TestStream stream;
  // Chunks of 10 rows of 96 B in a ring of 2: a 1000-key call fills 100 chunks, each slot 50 times.
  CpuGatherPipeline pipeline(CpuGatherPipeline::Options{4, 960, 2});
  const std::size_t row_bytes = 96, num_rows = 50, chunk_rows = 10;
  std::vector<std::int64_t> keys(1000);
  std::uniform_int_distribution<std::int64_t> row(0, num_rows - 1);
  for (auto& k : keys) k = row(rng);
  // Runs of one key across chunk boundaries (rows 5..14 and 395..404), and a chunk made of one key only.
  for (std::size_t i = 5; i < 15; ++i) keys[i] = 7;
  for (std::size_t i = 395; i < 405; ++i) keys[i] = 0;
  for (std::size_t i = 600; i < 600 + chunk_rows; ++i) keys[i] = static_cast<std::int64_t>(num_rows) - 1;
  check_keys(pipeline, rng, row_bytes, num_rows, keys, stream.get(), "1000 keys over 100 chunks of a ring of 2");
  // A count that ends inside a chunk, and one smaller than a chunk.
  keys.resize(1000 - 3);
  check_keys(pipeline, rng, row_bytes, num_rows, keys, stream.get(), "997 keys: the last chunk holds 7 rows");
  keys.resize(4);
  check_keys(pipeline, rng, row_bytes, num_rows, keys, stream.get(), "4 keys: one short chunk");
}

TEST(CpuGatherPipelineGpu, LastCallSaysWhereItsTimeWent) {
  GHTIER_REQUIRE_GPU();
  std::mt19937_64 rng = test::fresh_rng();
  test::TestStream stream;
  CpuGatherPipeline pipeline(CpuGatherPipeline::Options{3, 960, 2});
  const CpuGatherPipeline::CallStatistics before = pipeline.last_call();
  EXPECT_EQ(before.chunks, 0u);
  EXPECT_EQ(before.seconds, 0.0);
  const std::size_t row_bytes = 96, num_rows = 50;
  std::vector<std::int64_t> keys(995);  // 100 chunks of 10 rows, the last one of 5
  std::uniform_int_distribution<std::int64_t> row(0, num_rows - 1);
  for (auto& k : keys) k = row(rng);
  check_keys(pipeline, rng, row_bytes, num_rows, keys, stream.get(), "995 keys over 100 chunks");
  const CpuGatherPipeline::CallStatistics last = pipeline.last_call();
  EXPECT_EQ(last.chunks, 100u);
  EXPECT_EQ(last.threads, 3u);
  EXPECT_GT(last.seconds, 0.0);
  EXPECT_GT(last.gather_seconds, 0.0);
  for (double part : {last.keys_seconds, last.fill_wait_seconds, last.slot_wait_seconds, last.open_wait_seconds}) {
    EXPECT_GE(part, 0.0);
  }
  // The calling thread's waits and the keys' copy are parts of the call; the threads' times, summed, fit in
  // three threads' share of it.
  EXPECT_LE(last.keys_seconds + last.fill_wait_seconds + last.slot_wait_seconds, last.seconds);
  EXPECT_LE(last.gather_seconds + last.open_wait_seconds, 3 * last.seconds);
}

TEST(CpuGatherPipelineGpu, CallsOnTwoStreamsShareTheRing) {
  GHTIER_REQUIRE_GPU();
  std::mt19937_64 rng = test::fresh_rng();
  test::TestStream first;
  test::TestStream second;
  CpuGatherPipeline pipeline(CpuGatherPipeline::Options{3, 4096, 2});
  const std::size_t row_bytes = 256, num_rows = 3000, count = 5000;  // 313 chunks of 16 rows
  // The second call's first chunks reuse slots whose copies the first call queued on another stream.
  const std::vector<unsigned char> host_table = random_bytes(rng, row_bytes * num_rows);
  TierBuffer table(Tier::pinned, host_table.size());
  table.upload(host_table.data(), host_table.size());
  const std::vector<std::int64_t> keys_a = random_keys<std::int64_t>(rng, count, num_rows, true);
  const std::vector<std::int64_t> keys_b = random_keys<std::int64_t>(rng, count, num_rows, false);
  TierBuffer out_a(Tier::device, count * row_bytes);
  TierBuffer out_b(Tier::device, count * row_bytes);
  out_a.poison(poison_byte);
  out_b.poison(poison_byte);
  pipeline.gather(table.data(), row_bytes, num_rows, keys_a.data(), count, out_a.data(), first.get());
  pipeline.gather(table.data(), row_bytes, num_rows, keys_b.data(), count, out_b.data(), second.get());
  TEST_CUDA(cudaStreamSynchronize(first.get()));
  TEST_CUDA(cudaStreamSynchronize(second.get()));
  EXPECT_TRUE(same_rows(reference_gather(host_table, row_bytes, keys_a), out_a.download(), row_bytes))
      << "first stream";
  EXPECT_TRUE(same_rows(reference_gather(host_table, row_bytes, keys_b), out_b.download(), row_bytes))
      << "second stream";
}

TEST(CpuGatherPipelineGpu, GathersTheReferenceRowsForEveryShapeAndTier) {
  GHTIER_REQUIRE_GPU();
  std::mt19937_64 rng = test::fresh_rng();
  test::TestStream stream;
  CpuGatherPipeline pipeline(CpuGatherPipeline::Options{5, 3000, 3});  // rows above the chunk size too
  EXPECT_EQ(pipeline.threads(), 5u);
  EXPECT_EQ(pipeline.chunk_bytes(), 3000u);
  EXPECT_EQ(pipeline.chunks(), 3u);
  for (Tier table_tier : {Tier::pinned, Tier::system, Tier::managed}) {
    for (std::size_t row_bytes : {4u, 100u, 128u, 2999u, 3000u, 5000u}) {
      for (bool zipf : {false, true}) {
        const std::size_t num_rows = 1 + rng() % 4000;
        const std::size_t count = 1 + rng() % 3000;
        check_gather<std::int64_t>(pipeline, rng, table_tier, Tier::device, row_bytes, num_rows, count, zipf,
                                   stream.get());
        check_gather<std::int32_t>(pipeline, rng, table_tier, Tier::pinned, row_bytes, num_rows, count, zipf,
                                   stream.get());
      }
    }
  }
  // Keys in pageable memory and the default pipeline (the machine's threads, 8 chunks of 2 MiB), a larger batch.
  CpuGatherPipeline defaults;
  check_gather<std::int64_t>(defaults, rng, Tier::pinned, Tier::system, 128, 1 << 18, 1 << 16, true, stream.get());
  check_gather<std::int64_t>(defaults, rng, Tier::pinned, Tier::managed, 64, 1 << 18, 1 << 16, false, stream.get());
}

TEST(CpuGatherPipelineGpu, OutOfRangeKeysAreRefusedAndGetZeroRows) {
  GHTIER_REQUIRE_GPU();
  std::mt19937_64 rng = test::fresh_rng();
  test::TestStream stream;
  CpuGatherPipeline pipeline(CpuGatherPipeline::Options{3, 512});
  const std::size_t row_bytes = 32, num_rows = 700, count = 1000;
  const std::vector<unsigned char> host_table = random_bytes(rng, row_bytes * num_rows);
  TierBuffer table(Tier::pinned, host_table.size());
  table.upload(host_table.data(), host_table.size());
  std::vector<std::int64_t> keys = random_keys<std::int64_t>(rng, count, num_rows, false);
  const std::size_t first_bad = 10 + rng() % 500;
  keys[first_bad] = static_cast<std::int64_t>(num_rows);
  keys[first_bad + 1 + rng() % 400] = -5;
  const TierBuffer d_keys = test::device_indices(keys);
  const auto* d = reinterpret_cast<const std::int64_t*>(d_keys.data());
  TierBuffer out(Tier::device, count * row_bytes);
  out.poison(poison_byte);
  try {
    pipeline.gather(table.data(), row_bytes, num_rows, d, count, out.data(), stream.get());
    ADD_FAILURE() << "out-of-range keys were accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    const std::string what = e.what();
    EXPECT_NE(what.find("2 indices out of range"), std::string::npos) << what;
    EXPECT_NE(what.find(fmt::format("indices[{}] = {}", first_bad, num_rows)), std::string::npos) << what;
  }
  EXPECT_TRUE(same_rows(reference_gather(host_table, row_bytes, keys), out.download(), row_bytes));
  IndexCheck check;
  out.poison(poison_byte);
  pipeline.gather(table.data(), row_bytes, num_rows, d, count, out.data(), stream.get(), &check);
  EXPECT_EQ(check.bad_index_count(stream.get()), 2u);
  EXPECT_GHTIER_ERROR(check.check(stream.get()), ErrorCode::invalid_argument);
  EXPECT_EQ(check.bad_index_count(stream.get()), 0u);  // check() cleared it
  EXPECT_TRUE(same_rows(reference_gather(host_table, row_bytes, keys), out.download(), row_bytes));
}

TEST(CpuGatherPipelineGpu, RefusesADeviceTableAndBadArguments) {
  GHTIER_REQUIRE_GPU();
  test::TestStream stream;
  CpuGatherPipeline pipeline(CpuGatherPipeline::Options{2, 4096});
  TierBuffer table(Tier::device, 64 * 10);
  TierBuffer out(Tier::device, 64 * 4);
  const std::int64_t keys[] = {1, 2, 3, 4};
  EXPECT_GHTIER_ERROR(pipeline.gather(table.data(), 64, 10, keys, 4, out.data(), stream.get()), ErrorCode::unsupported);
  TierBuffer host_table(Tier::pinned, 64 * 10);
  EXPECT_GHTIER_ERROR(pipeline.gather(host_table.data(), 0, 10, keys, 4, out.data(), stream.get()),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(pipeline.gather(host_table.data(), 64, 10, keys, 4, host_table.data(), stream.get()),
                      ErrorCode::invalid_argument);
  pipeline.gather(host_table.data(), 64, 10, keys, 0, out.data(), stream.get());  // nothing to do
}
