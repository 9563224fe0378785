// GPU tests: the kernels' own device memory (hash tables, row caches, index records, sort and aggregation
// scratch) goes through the resource they are given. Under a Runtime's device tier a budget too small for
// it refuses with out_of_budget (a std::bad_alloc) and leaks nothing; with room, the results still match a
// CPU reference on fresh random data and the tier's statistics count the memory and return to zero.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

#include "ghtier/kernels/aggregate.hpp"
#include "ghtier/kernels/gather.hpp"
#include "ghtier/kernels/group_by.hpp"
#include "ghtier/kernels/hash_join.hpp"
#include "ghtier/kernels/index_check.hpp"
#include "ghtier/kernels/row_cache.hpp"
#include "ghtier/kernels/sorted_gather.hpp"
#include "ghtier/memory/default_device_resource.hpp"
#include "ghtier/runtime/runtime.hpp"
#include "test_support.hpp"
#include "tier_buffer.hpp"

namespace ghtier {
namespace {

using test::Tier;
using test::TierBuffer;

constexpr std::size_t MiB = std::size_t{1} << 20;

Runtime runtime_with_device_budget(std::size_t bytes) {
  RuntimeOptions options;
  options.device_budget = bytes;
  return Runtime(options);
}

AllocationStatistics device_statistics(const Runtime& runtime) { return runtime.statistics(MemoryMode::device); }

template <typename Body>
void expect_out_of_budget(Body&& body) {
  bool as_bad_alloc = false;
  try {
    body();
  } catch (const std::bad_alloc&) {
    as_bad_alloc = true;
  }
  EXPECT_TRUE(as_bad_alloc) << "expected a refusal that is a std::bad_alloc";
  EXPECT_GHTIER_ERROR(body(), ErrorCode::out_of_budget);
}

TEST(KernelBudget, HashTableIsRefusedOverBudgetAndCountedWithin) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  const std::size_t rows = 200'000;  // 2^19 slots of 8 bytes: 4 MiB
  std::vector<std::int32_t> keys(rows);
  std::uniform_int_distribution<std::int32_t> key_of(0, 1'000'000);
  for (auto& k : keys) k = key_of(rng);
  TierBuffer build(Tier::pinned, rows * sizeof(std::int32_t));
  build.upload(keys.data(), build.size());
  const ColumnView build_keys = column_view(reinterpret_cast<const std::int32_t*>(build.data()), rows);
  const HashTableLayout layout = hash_table_layout(rows, ColumnType::int32, false);

  Runtime runtime = runtime_with_device_budget(1 * MiB);
  MemoryResource& device = runtime.resource(MemoryMode::device);
  expect_out_of_budget([&] { HashJoinTable table(build_keys, std::nullopt, nullptr, {}, device); });
  EXPECT_EQ(device_statistics(runtime).current_bytes, 0u);
  EXPECT_GE(device_statistics(runtime).failed_allocations, 2u);

  runtime.set_budget(MemoryMode::device, 64 * MiB);
  std::vector<std::int32_t> probe(100'000);
  for (auto& k : probe) k = key_of(rng);
  TierBuffer probe_keys(Tier::pinned, probe.size() * sizeof(std::int32_t));
  probe_keys.upload(probe.data(), probe_keys.size());
  {
    const HashJoinTable table(build_keys, std::nullopt, nullptr, {}, device);
    EXPECT_EQ(table.resource(), &device);
    EXPECT_EQ(device_statistics(runtime).current_bytes, layout.bytes);
    EXPECT_EQ(runtime.budget_used(MemoryMode::device), layout.bytes);
    const std::uint64_t before = device_statistics(runtime).total_allocations;
    const JoinResult result =
        table.probe(column_view(reinterpret_cast<const std::int32_t*>(probe_keys.data()), probe.size()));
    std::unordered_map<std::int32_t, std::uint64_t> counts;
    for (const std::int32_t k : keys) ++counts[k];
    std::uint64_t want = 0;
    for (const std::int32_t k : probe) {
      const auto it = counts.find(k);
      if (it != counts.end()) want += it->second;
    }
    EXPECT_EQ(result.matches, want);
    EXPECT_EQ(device_statistics(runtime).total_allocations, before + 1);  // the probe's scratch
    EXPECT_EQ(device_statistics(runtime).current_bytes, layout.bytes);    // ...already given back
    // A probe whose scratch does not fit fails cleanly and leaves the table usable.
    runtime.set_budget(MemoryMode::device, layout.bytes);
    expect_out_of_budget([&] {
      (void)table.probe(column_view(reinterpret_cast<const std::int32_t*>(probe_keys.data()), probe.size()));
    });
    runtime.set_budget(MemoryMode::device, 64 * MiB);
    EXPECT_EQ(table.probe(column_view(reinterpret_cast<const std::int32_t*>(probe_keys.data()), probe.size())).matches,
              want);
  }
  EXPECT_EQ(device_statistics(runtime).current_bytes, 0u);
  EXPECT_EQ(device_statistics(runtime).current_allocations, 0u);
}

TEST(KernelBudget, RowCacheAndItsGathersAreCounted) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  const std::size_t rows = 1 << 16;
  const std::size_t row_bytes = 64;
  std::vector<unsigned char> table_host(rows * row_bytes);
  for (auto& b : table_host) b = static_cast<unsigned char>(rng());
  TierBuffer table(Tier::pinned, table_host.size());
  table.upload(table_host.data(), table_host.size());
  std::vector<std::int64_t> hot(rows / 2);
  for (std::size_t i = 0; i < hot.size(); ++i) hot[i] = static_cast<std::int64_t>(2 * i);  // 2 MiB of rows

  Runtime runtime = runtime_with_device_budget(1 * MiB);
  MemoryResource& device = runtime.resource(MemoryMode::device);
  test::TestStream stream;
  expect_out_of_budget([&] { RowCache cache(table.data(), row_bytes, rows, hot, stream.get(), device); });
  EXPECT_EQ(device_statistics(runtime).current_bytes, 0u);

  runtime.set_budget(MemoryMode::device, 16 * MiB);
  {
    RowCache cache(table.data(), row_bytes, rows, hot, stream.get(), device);
    EXPECT_EQ(device_statistics(runtime).current_bytes, cache.device_bytes());
    const std::size_t count = 10'000;
    std::vector<std::int64_t> indices(count);
    std::uniform_int_distribution<std::int64_t> row_of(0, rows - 1);
    for (auto& i : indices) i = row_of(rng);
    TierBuffer device_indices(Tier::device, count * sizeof(std::int64_t));
    device_indices.upload(indices.data(), device_indices.size());
    TierBuffer out(Tier::device, count * row_bytes);
    out.poison();
    const std::uint64_t before = device_statistics(runtime).total_allocations;
    cache.gather(reinterpret_cast<const std::int64_t*>(device_indices.data()), count, out.data(), stream.get());
    EXPECT_EQ(device_statistics(runtime).total_allocations, before + 1);  // the temporary index record
    EXPECT_EQ(device_statistics(runtime).current_bytes, cache.device_bytes());
    const std::vector<unsigned char> got = out.download();
    for (std::size_t i = 0; i < count; ++i) {
      ASSERT_EQ(std::memcmp(got.data() + i * row_bytes,
                            table_host.data() + static_cast<std::size_t>(indices[i]) * row_bytes, row_bytes),
                0)
          << "row " << i;
    }
    // record() allocates its counters from the same resource.
    cache.record(reinterpret_cast<const std::int64_t*>(device_indices.data()), count, stream.get());
    EXPECT_EQ(device_statistics(runtime).current_bytes, cache.device_bytes());
    EXPECT_GE(cache.device_bytes(), rows * sizeof(unsigned));
  }
  EXPECT_EQ(device_statistics(runtime).current_bytes, 0u);
}

TEST(KernelBudget, SortScratchAndIndexRecordsAreRefusedOrCounted) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  const std::size_t rows = 1 << 20;
  const std::size_t count = 1 << 20;  // the sort's scratch is about 20 MiB
  const std::size_t row_bytes = 8;
  std::vector<std::uint64_t> table_host(rows);
  for (auto& v : table_host) v = rng();
  TierBuffer table(Tier::pinned, rows * row_bytes);
  table.upload(table_host.data(), table.size());
  std::vector<std::int32_t> indices(count);
  std::uniform_int_distribution<std::int32_t> row_of(0, static_cast<std::int32_t>(rows - 1));
  for (auto& i : indices) i = row_of(rng);
  TierBuffer device_indices(Tier::device, count * sizeof(std::int32_t));
  device_indices.upload(indices.data(), device_indices.size());
  TierBuffer out(Tier::device, count * row_bytes);
  const auto* index_data = reinterpret_cast<const std::int32_t*>(device_indices.data());

  Runtime runtime = runtime_with_device_budget(1 * MiB);
  MemoryResource& device = runtime.resource(MemoryMode::device);
  test::TestStream stream;
  expect_out_of_budget([&] {
    sorted_gather(table.data(), row_bytes, rows, index_data, count, out.data(), stream.get(), nullptr, device);
  });
  stream.sync();
  EXPECT_EQ(device_statistics(runtime).current_bytes, 0u);

  runtime.set_budget(MemoryMode::device, 64 * MiB);
  out.poison();
  sorted_gather(table.data(), row_bytes, rows, index_data, count, out.data(), stream.get(), nullptr, device);
  EXPECT_EQ(device_statistics(runtime).current_bytes, 0u);
  EXPECT_GE(device_statistics(runtime).peak_bytes, count * 12);  // keys, positions, marks: at least 12 B each
  const std::vector<unsigned char> got = out.download();
  for (std::size_t i = 0; i < count; ++i) {
    std::uint64_t value = 0;
    std::memcpy(&value, got.data() + i * row_bytes, row_bytes);
    ASSERT_EQ(value, table_host[static_cast<std::size_t>(indices[i])]) << "row " << i;
  }

  // An IndexCheck's record and a plain gather's temporary record come from the resource too.
  runtime.set_budget(MemoryMode::device, 0);
  expect_out_of_budget([&] { IndexCheck check(device); });
  expect_out_of_budget(
      [&] { gather(table.data(), row_bytes, rows, index_data, count, out.data(), stream.get(), nullptr, device); });
  runtime.set_budget(MemoryMode::device, 1 * MiB);
  {
    IndexCheck check(device);
    EXPECT_GT(device_statistics(runtime).current_bytes, 0u);
    gather(table.data(), row_bytes, rows, index_data, count, out.data(), stream.get(), &check, device);
    check.check(stream.get());
  }
  EXPECT_EQ(device_statistics(runtime).current_bytes, 0u);
}

TEST(KernelBudget, AggregationScratchIsRefusedOrCounted) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  const std::size_t rows = 100'000;
  const std::uint32_t groups = 5000;  // about 440 KiB of accumulators and results
  std::vector<std::int32_t> keys(rows);
  std::vector<std::int64_t> values(rows);
  std::uniform_int_distribution<std::int32_t> key_of(0, groups - 1);
  std::uniform_int_distribution<std::int64_t> value_of(-1000, 1000);
  for (std::size_t i = 0; i < rows; ++i) {
    keys[i] = key_of(rng);
    values[i] = value_of(rng);
  }
  TierBuffer key_buffer(Tier::pinned, rows * sizeof(std::int32_t));
  TierBuffer value_buffer(Tier::pinned, rows * sizeof(std::int64_t));
  key_buffer.upload(keys.data(), key_buffer.size());
  value_buffer.upload(values.data(), value_buffer.size());
  const ColumnView key_view = column_view(reinterpret_cast<const std::int32_t*>(key_buffer.data()), rows);
  const ColumnView value_view = column_view(reinterpret_cast<const std::int64_t*>(value_buffer.data()), rows);

  Runtime runtime = runtime_with_device_budget(64 * 1024);
  MemoryResource& device = runtime.resource(MemoryMode::device);
  expect_out_of_budget([&] { (void)group_by(key_view, value_view, groups, {}, nullptr, device); });
  runtime.set_budget(MemoryMode::device, 0);
  expect_out_of_budget([&] { (void)aggregate(value_view, {}, nullptr, device); });
  EXPECT_EQ(device_statistics(runtime).current_bytes, 0u);

  runtime.set_budget(MemoryMode::device, 4 * MiB);
  const std::uint64_t before = device_statistics(runtime).total_allocations;
  const GroupByResult grouped = group_by(key_view, value_view, groups, {}, nullptr, device);
  const AggregateResult total = aggregate(value_view, {}, nullptr, device);
  EXPECT_EQ(device_statistics(runtime).total_allocations, before + 2);
  EXPECT_EQ(device_statistics(runtime).current_bytes, 0u);
  std::vector<std::int64_t> sums(groups, 0);
  std::vector<std::uint64_t> counts(groups, 0);
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    sums[static_cast<std::size_t>(keys[i])] += values[i];
    ++counts[static_cast<std::size_t>(keys[i])];
    sum += values[i];
  }
  ASSERT_EQ(grouped.groups.size(), groups);
  for (std::uint32_t g = 0; g < groups; ++g) {
    ASSERT_EQ(grouped.groups[g].count, counts[g]) << g;
    ASSERT_EQ(grouped.groups[g].sum_int, sums[g]) << g;
  }
  EXPECT_EQ(total.count, rows);
  EXPECT_EQ(total.sum_int, sum);
}

// Replacing the default device resource puts the calls that name no resource under the runtime too.
TEST(KernelBudget, DefaultDeviceResourceCanBeARuntimeTier) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  std::vector<std::int64_t> values(50'000);
  for (auto& v : values) v = static_cast<std::int64_t>(rng() % 1000);
  TierBuffer buffer(Tier::device, values.size() * sizeof(std::int64_t));
  buffer.upload(values.data(), buffer.size());
  Runtime runtime = runtime_with_device_budget(1 * MiB);
  MemoryResource* const previous = set_default_device_resource(&runtime.resource(MemoryMode::device));
  const std::uint64_t before = device_statistics(runtime).total_allocations;
  const AggregateResult result =
      aggregate(column_view(reinterpret_cast<const std::int64_t*>(buffer.data()), values.size()));
  EXPECT_EQ(device_statistics(runtime).total_allocations, before + 1);
  EXPECT_EQ(device_statistics(runtime).current_bytes, 0u);
  set_default_device_resource(previous);
  std::int64_t sum = 0;
  for (const std::int64_t v : values) sum += v;
  EXPECT_EQ(result.sum_int, sum);
}

}  // namespace
}  // namespace ghtier
