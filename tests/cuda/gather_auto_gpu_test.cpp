// GPU tests of gather_auto against a CPU reference on fresh random data: each path it can run, the CPU
// pipeline included (forced by a calibration that makes it the fastest), the default choice matching
// choose_gather_path's for the same request, uniform and skewed keys with duplicates, int32 and int64 indices, pinned,
// managed and device tables, out-of-range keys refused (synchronously and through an IndexCheck), and the C entry
// point. Outputs are poisoned before every call.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "c_api_test_runtime.hpp"
#include "gather_reference.hpp"
#include "ghtier/error.hpp"
#include "ghtier/ghtier.h"
#include "ghtier/kernels/cpu_gather_pipeline.hpp"
#include "ghtier/kernels/gather_auto.hpp"
#include "ghtier/kernels/index_check.hpp"
#include "ghtier/kernels/row_cache.hpp"
#include "same_rows.hpp"
#include "test_support.hpp"
#include "tier_buffer.hpp"

using namespace ghtier;
using test::Tier;
using test::TierBuffer;

namespace {

constexpr unsigned char poison_byte = 0xA5;

using ghtier::test::random_bytes;

using ghtier::test::device_indices;
using ghtier::test::random_keys;
using ghtier::test::reference_gather;
using ghtier::test::same_rows;

/// A calibration under which `path` is predicted far faster than the others.
GatherCalibration favouring(GatherPath path) {
  GatherCalibration c = pcie_h200_gather_calibration();
  const double fast = 1e5;
  switch (path) {
    case GatherPath::plain:
      for (double& g : c.plain.gbps) g = fast;
      c.link_gbps = fast;
      break;
    case GatherPath::sorted:
      for (double& g : c.sorted.gbps) g = fast;
      for (double& g : c.sorted_skewed.gbps) g = fast;
      c.link_gbps = fast;
      c.sort_fixed_us = 0;
      c.sort_ns_per_key = 0;
      break;
    case GatherPath::cached:
      c.cache_hit_gbps = fast;
      for (RateGrid* g : {&c.cache_miss, &c.cache_skewed_miss}) {
        for (double& r : g->gbps) r = fast;
      }
      break;
    case GatherPath::cpu_pipelined:
      for (double& g : c.cpu_gather.gbps) g = fast;
      c.copy_gbps = fast;
      c.host_memory_gbps = 3 * fast;
      c.pipeline_fixed_us = 0;
      break;
  }
  return c;
}

struct Table {
  TierBuffer buffer;
  std::vector<unsigned char> host;
};

Table make_table(std::mt19937_64& rng, Tier tier, std::size_t bytes) {
  Table t{TierBuffer(tier, bytes), random_bytes(rng, bytes)};
  t.buffer.upload(t.host.data(), bytes);
  return t;
}

}  // namespace

TEST(GatherAutoGpu, EveryPathItRunsGathersTheReferenceRows) {
  GHTIER_REQUIRE_GPU();
  std::mt19937_64 rng = test::fresh_rng();
  test::TestStream stream;
  CpuGatherPipeline pipeline(CpuGatherPipeline::Options{4, 4096});  // small chunks: many of them
  for (std::size_t row_bytes : {16u, 128u, 1000u, 4096u}) {
    const std::size_t num_rows = 3000;
    Table table = make_table(rng, Tier::pinned, row_bytes * num_rows);
    for (GatherPath path : {GatherPath::plain, GatherPath::sorted, GatherPath::cached, GatherPath::cpu_pipelined}) {
      for (bool skewed : {false, true}) {
        const std::size_t count = 1 + rng() % 5000;
        const auto keys = random_keys<std::int64_t>(rng, count, num_rows, skewed);
        const TierBuffer d_keys = device_indices(keys);
        TierBuffer out(Tier::device, count * row_bytes);
        out.poison(poison_byte);
        std::vector<std::int64_t> hot(num_rows / 10);
        for (std::size_t i = 0; i < hot.size(); ++i) hot[i] = static_cast<std::int64_t>(i * 10);
        RowCache cache(table.buffer.data(), row_bytes, num_rows, hot, stream.get());
        const GatherCalibration calibration = favouring(path);
        GatherAutoOptions options;
        options.keys = skewed ? KeyDistributionHint::skewed : KeyDistributionHint::uniform;
        options.calibration = &calibration;
        options.cache = path == GatherPath::cached ? &cache : nullptr;
        options.cache_hit_rate = path == GatherPath::cached ? 1.0 : -1;
        options.pipeline = &pipeline;  // offered on every path: the calibration decides
        const std::uint64_t before = gather_auto_statistics().of(path);
        const GatherChoice choice =
            gather_auto(table.buffer.data(), row_bytes, num_rows, reinterpret_cast<const std::int64_t*>(d_keys.data()),
                        count, out.data(), stream.get(), options);
        stream.sync();
        EXPECT_EQ(choice.path, path) << choice.reason;
        EXPECT_EQ(gather_auto_statistics().of(path), before + 1);
        EXPECT_TRUE(same_rows(reference_gather(table.host, row_bytes, keys), out.download(), row_bytes))
            << to_string(path) << ", " << row_bytes << " B rows, skewed " << skewed;
        if (path == GatherPath::cached) {
          const RowCache::Stats s = cache.stats(stream.get());
          EXPECT_EQ(s.hits + s.misses, count);
        }
      }
    }
  }
}

TEST(GatherAutoGpu, DefaultChoiceIsTheChoosersForTheSameRequest) {
  GHTIER_REQUIRE_GPU();
  std::mt19937_64 rng = test::fresh_rng();
  test::TestStream stream;
  const Platform platform = detect_platform(0);
  for (Tier tier : {Tier::pinned, Tier::managed, Tier::device}) {
    const std::size_t row_bytes = 128, num_rows = 1 << 16, count = 1 << 14;
    Table table = make_table(rng, tier, row_bytes * num_rows);
    const auto keys = random_keys<std::int32_t>(rng, count, num_rows, false);
    const TierBuffer d_keys = device_indices(keys);
    TierBuffer out(Tier::device, count * row_bytes);
    out.poison(poison_byte);
    const GatherChoice choice =
        gather_auto(table.buffer.data(), row_bytes, num_rows, reinterpret_cast<const std::int32_t*>(d_keys.data()),
                    count, out.data(), stream.get());
    stream.sync();
    GatherRequest request;
    request.row_bytes = row_bytes;
    request.table_bytes = row_bytes * num_rows;
    request.count = count;
    request.index_bytes = 4;
    request.residency = tier == Tier::device ? TableResidency::device : TableResidency::pinned_host;
    request.pipeline_available = false;
    const GatherChoice expected = choose_gather_path(request, platform, gather_calibration_for(platform));
    EXPECT_EQ(choice.path, expected.path) << choice.reason << " vs " << expected.reason;
    if (tier == Tier::device) {
      EXPECT_EQ(choice.path, GatherPath::plain);
    }
    EXPECT_TRUE(same_rows(reference_gather(table.host, row_bytes, keys), out.download(), row_bytes))
        << test::to_string(tier);
  }
}

TEST(GatherAutoGpu, OutOfRangeKeysAreRefusedOnEveryPath) {
  GHTIER_REQUIRE_GPU();
  std::mt19937_64 rng = test::fresh_rng();
  test::TestStream stream;
  const std::size_t row_bytes = 64, num_rows = 500, count = 300;
  Table table = make_table(rng, Tier::pinned, row_bytes * num_rows);
  std::vector<std::int64_t> hot = {1, 2, 3};
  RowCache cache(table.buffer.data(), row_bytes, num_rows, hot, stream.get());
  CpuGatherPipeline pipeline(CpuGatherPipeline::Options{3, 1000});
  for (GatherPath path : {GatherPath::plain, GatherPath::sorted, GatherPath::cached, GatherPath::cpu_pipelined}) {
    auto keys = random_keys<std::int64_t>(rng, count, num_rows, false);
    const std::size_t first_bad = rng() % (count - 1);
    keys[first_bad] = static_cast<std::int64_t>(num_rows);  // one past the end
    keys[first_bad + 1 + rng() % (count - 1 - first_bad)] = -1;
    const TierBuffer d_keys = device_indices(keys);
    TierBuffer out(Tier::device, count * row_bytes);
    const GatherCalibration calibration = favouring(path);
    GatherAutoOptions options;
    options.calibration = &calibration;
    options.cache = path == GatherPath::cached ? &cache : nullptr;
    options.cache_hit_rate = path == GatherPath::cached ? 1.0 : -1;
    options.pipeline = path == GatherPath::cpu_pipelined ? &pipeline : nullptr;
    const auto* d = reinterpret_cast<const std::int64_t*>(d_keys.data());
    EXPECT_GHTIER_ERROR(
        (void)gather_auto(table.buffer.data(), row_bytes, num_rows, d, count, out.data(), stream.get(), options),
        ErrorCode::invalid_argument);
    IndexCheck check;
    options.check = &check;
    out.poison(poison_byte);
    const GatherChoice choice =
        gather_auto(table.buffer.data(), row_bytes, num_rows, d, count, out.data(), stream.get(), options);
    EXPECT_EQ(choice.path, path);
    EXPECT_GE(check.bad_index_count(stream.get()), 2u) << to_string(path);
    // The in-range rows are there and the bad ones are zero rows.
    const std::vector<unsigned char> got = out.download();
    for (std::size_t i = 0; i < count; ++i) {
      const bool bad = keys[i] < 0 || keys[i] >= static_cast<std::int64_t>(num_rows);
      for (std::size_t b = 0; b < row_bytes; ++b) {
        const unsigned char want = bad ? 0 : table.host[static_cast<std::size_t>(keys[i]) * row_bytes + b];
        ASSERT_EQ(got[i * row_bytes + b], want) << to_string(path) << " row " << i;
      }
    }
  }
}

TEST(GatherAutoGpu, CEntryPointReportsTheChoice) {
  GHTIER_REQUIRE_GPU();
  std::mt19937_64 rng = test::fresh_rng();
  test::TestStream stream;
  const std::size_t row_bytes = 256, num_rows = 4096, count = 2000;
  Table table = make_table(rng, Tier::pinned, row_bytes * num_rows);
  const auto keys = random_keys<std::int64_t>(rng, count, num_rows, true);
  const TierBuffer d_keys = device_indices(keys);
  TierBuffer out(Tier::device, count * row_bytes);
  out.poison(poison_byte);
  ghtier_gather_auto_options_t options{};
  options.struct_size = sizeof(options);
  options.key_distribution = GHTIER_KEYS_SKEWED;
  options.cache_hit_rate = -1;
  ghtier_gather_choice_t choice{};
  choice.struct_size = sizeof(choice);
  choice.path = -1;
  ASSERT_EQ(ghtier_gather_auto(test::test_runtime(), table.buffer.data(), row_bytes, num_rows, d_keys.data(),
                               GHTIER_INDEX_INT64, count, out.data(), stream.get(), nullptr, &options, &choice),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  stream.sync();
  EXPECT_TRUE(choice.path == GHTIER_GATHER_PATH_PLAIN || choice.path == GHTIER_GATHER_PATH_SORTED) << choice.reason;
  EXPECT_GT(choice.predicted_gbps[choice.path], 0.0);
  EXPECT_EQ(choice.predicted_gbps[GHTIER_GATHER_PATH_CACHED], 0.0);  // no cache given
  EXPECT_NE(std::string(choice.reason).find("GB/s"), std::string::npos) << choice.reason;
  EXPECT_TRUE(same_rows(reference_gather(table.host, row_bytes, keys), out.download(), row_bytes));

  // With a pipeline handle the cpu_pipelined path is offered: its prediction is there, and the rows too.
  ghtier_cpu_gather_pipeline_t* pipeline = nullptr;
  ASSERT_EQ(ghtier_cpu_gather_pipeline_create(3, 4096, &pipeline), GHTIER_SUCCESS) << ghtier_error_message();
  options.pipeline = pipeline;
  out.poison(poison_byte);
  ASSERT_EQ(ghtier_gather_auto(test::test_runtime(), table.buffer.data(), row_bytes, num_rows, d_keys.data(),
                               GHTIER_INDEX_INT64, count, out.data(), stream.get(), nullptr, &options, &choice),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  stream.sync();
  EXPECT_GT(choice.predicted_gbps[GHTIER_GATHER_PATH_CPU_PIPELINED], 0.0) << choice.reason;
  EXPECT_TRUE(same_rows(reference_gather(table.host, row_bytes, keys), out.download(), row_bytes));
  EXPECT_EQ(ghtier_cpu_gather_pipeline_destroy(pipeline), GHTIER_SUCCESS);
}
