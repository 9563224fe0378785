// CPU tests (CI) of the bit-packed column format: the packer's round trip at every width 0..32 for int32
// and int64, edge values, the bit layout against an independent bit-by-bit reading of the specification,
// validate() on corrupted headers, the argument checks of bitpack_into/unpack, and BitpackedColumn.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <random>
#include <vector>

#include "ghtier/error.hpp"
#include "ghtier/kernels/bitpacked_column.hpp"
#include "ghtier/memory/memory_resource.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

template <typename T>
struct Packed {
  BitpackPlan plan;
  std::vector<BitpackBlockHeader> blocks;
  std::vector<std::uint32_t> words;
  BitpackedColumnView view;
};

template <typename T>
Packed<T> pack(const std::vector<T>& values) {
  Packed<T> packed;
  packed.plan = plan_bitpack(std::span<const T>(values));
  packed.blocks.resize(packed.plan.blocks.size());
  // Poison the words: the packer must write every word of every block.
  packed.words.assign(packed.plan.word_count, 0xDEADBEEFu);
  packed.view =
      bitpack_into(std::span<const T>(values), packed.plan, std::span(packed.blocks), std::span(packed.words));
  return packed;
}

// Reads value `index` of block `b` one bit at a time, straight from the format's description.
std::uint64_t spec_read(const BitpackedColumnView& view, std::uint64_t b, std::uint32_t index) {
  const BitpackBlockHeader& header = view.blocks[b];
  const std::uint32_t lane = index % 32;
  const std::uint32_t entry = index / 32;
  std::uint64_t packed = 0;
  for (std::uint32_t k = 0; k < header.width; ++k) {
    const std::uint32_t stream_bit = entry * header.width + k;
    const std::uint32_t word = stream_bit / 32;
    const std::uint64_t word_index = static_cast<std::uint64_t>(header.offset) * 32 + word * 32 + lane;
    const std::uint32_t bit = (view.words[word_index] >> (stream_bit % 32)) & 1u;
    packed |= static_cast<std::uint64_t>(bit) << k;
  }
  return static_cast<std::uint64_t>(header.reference) + packed;
}

// Values whose every block spans exactly 2^width - 1 (so the planned width is `width`) around `base`.
template <typename T>
std::vector<T> values_of_width(std::mt19937_64& rng, std::size_t rows, std::uint32_t width, std::int64_t base) {
  const std::uint64_t span = width == 0 ? 0 : (width == 64 ? ~0ull : (1ull << width) - 1);
  std::uniform_int_distribution<std::uint64_t> offset(0, span);
  std::vector<T> values(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    std::uint64_t o = offset(rng);
    if (i % bitpack_block_values == 0) o = 0;     // the block's minimum
    if (i % bitpack_block_values == 1) o = span;  // and its maximum
    values[i] = static_cast<T>(static_cast<std::int64_t>(static_cast<std::uint64_t>(base) + o));
  }
  return values;
}

template <typename T>
void expect_round_trip(const std::vector<T>& values) {
  const Packed<T> packed = pack(values);
  ASSERT_NO_THROW(validate(packed.view));
  std::vector<T> out(values.size(), T{0x5A});
  unpack(packed.view, std::span(out));
  ASSERT_EQ(out, values);
  for (std::uint64_t i = 0; i < values.size(); i += 37) {
    const std::uint64_t b = i / bitpack_block_values;
    ASSERT_EQ(
        static_cast<T>(static_cast<std::int64_t>(spec_read(packed.view, b, static_cast<std::uint32_t>(i % 1024)))),
        values[i])
        << "row " << i;
  }
}

TEST(BitpackFormat, EveryWidthRoundTripsInt32) {
  auto rng = test::fresh_rng();
  for (std::uint32_t width = 0; width <= 32; ++width) {
    SCOPED_TRACE(width);
    const std::int64_t base = width == 32 ? std::numeric_limits<std::int32_t>::min() : -12345;
    const auto values = values_of_width<std::int32_t>(rng, 3 * 1024 + 77, width, base);
    const Packed<std::int32_t> packed = pack(values);
    for (const auto& header : packed.plan.blocks) EXPECT_EQ(header.width, width);
    EXPECT_EQ(packed.plan.word_count, packed.plan.blocks.size() * 32 * width);
    expect_round_trip(values);
  }
}

TEST(BitpackFormat, EveryWidthRoundTripsInt64) {
  auto rng = test::fresh_rng();
  std::uniform_int_distribution<std::int64_t> any_base(std::numeric_limits<std::int64_t>::min() / 2,
                                                       std::numeric_limits<std::int64_t>::max() / 2);
  for (std::uint32_t width = 0; width <= 32; ++width) {
    SCOPED_TRACE(width);
    const auto values = values_of_width<std::int64_t>(rng, 2 * 1024 + 5, width, any_base(rng));
    const Packed<std::int64_t> packed = pack(values);
    for (const auto& header : packed.plan.blocks) EXPECT_EQ(header.width, width);
    expect_round_trip(values);
  }
}

TEST(BitpackFormat, EdgeValuesAndLengths) {
  constexpr auto min32 = std::numeric_limits<std::int32_t>::min();
  constexpr auto max32 = std::numeric_limits<std::int32_t>::max();
  expect_round_trip(std::vector<std::int32_t>{});
  expect_round_trip(std::vector<std::int32_t>{42});
  expect_round_trip(std::vector<std::int32_t>{min32, max32, 0, -1, 1});
  expect_round_trip(std::vector<std::int32_t>(1024, max32));
  expect_round_trip(std::vector<std::int32_t>(1025, min32));
  constexpr auto min64 = std::numeric_limits<std::int64_t>::min();
  constexpr auto max64 = std::numeric_limits<std::int64_t>::max();
  expect_round_trip(std::vector<std::int64_t>{min64, min64 + 0xFFFFFFFFll});
  expect_round_trip(std::vector<std::int64_t>{max64, max64 - 0xFFFFFFFFll, max64 - 7});
  auto rng = test::fresh_rng();
  for (std::size_t rows : {1u, 31u, 32u, 33u, 1023u, 1024u, 1025u, 5000u}) {
    expect_round_trip(values_of_width<std::int32_t>(rng, rows, 7, 100));
  }
}

TEST(BitpackFormat, LargeColumnsPackInParallelIdentically) {
  auto rng = test::fresh_rng();
  std::vector<std::int32_t> values(600 * 1024 + 3);
  std::uniform_int_distribution<std::int32_t> key(0, 4095);
  for (auto& v : values) v = key(rng);
  const Packed<std::int32_t> packed = pack(values);
  // 12 bits a value at most (the last, short block may need fewer), plus a 16-byte header a block.
  EXPECT_LE(packed.view.packed_bytes(), packed.plan.blocks.size() * (1024 * 12 / 8 + 16));
  std::vector<std::int32_t> out(values.size());
  unpack(packed.view, std::span(out));
  EXPECT_EQ(out, values);
}

TEST(BitpackFormat, LayoutPutsValueOfLaneInItsStream) {
  // Width 3: value 32 * i + l sits at bits [3i, 3i + 3) of lane l's stream (words j * 32 + l).
  std::vector<std::int32_t> values(1024, 10);
  values[0] = 10 + 7;            // entry 0 of lane 0: bits 0..2 of word 0
  values[32 * 10 + 5] = 10 + 5;  // entry 10 of lane 5: stream bits 30..32 -> word 0 bits 30,31 + word 1 bit 0
  values[1] = 10;
  const Packed<std::int32_t> packed = pack(values);
  ASSERT_EQ(packed.plan.blocks[0].width, 3u);
  ASSERT_EQ(packed.plan.blocks[0].reference, 10);
  EXPECT_EQ(packed.words[0] & 7u, 7u);
  EXPECT_EQ(packed.words[5] >> 30, 5u & 3u);             // low two bits of 5 = 0b01
  EXPECT_EQ(packed.words[32 + 5] & 1u, (5u >> 2) & 1u);  // high bit of 5 = 1
}

TEST(BitpackFormat, Int64RangeBeyond32BitsIsRefusedNamingTheBlock) {
  std::vector<std::int64_t> values(3000, 0);
  values[2500] = 1ll << 33;
  try {
    (void)plan_bitpack(std::span<const std::int64_t>(values));
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("block 2"), std::string::npos) << e.what();
  }
}

TEST(BitpackFormat, ValidateFindsEveryBrokenRule) {
  auto rng = test::fresh_rng();
  const auto values = values_of_width<std::int32_t>(rng, 4 * 1024, 5, 0);
  const Packed<std::int32_t> good = pack(values);
  auto broken = [&](auto&& edit, const char* expected) {
    Packed<std::int32_t> copy = good;
    copy.view.blocks = copy.blocks.data();
    copy.view.words = copy.words.data();
    edit(copy);
    try {
      validate(copy.view);
      ADD_FAILURE() << "validate accepted: " << expected;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  broken([](auto& c) { c.blocks[1].width = 33; }, "block 1 has width 33");
  broken([](auto& c) { c.blocks[2].offset += 1; }, "block 2 starts at offset");
  broken([](auto& c) { c.view.word_count -= 32; }, "word_count");
  broken([](auto& c) { c.blocks[3].reference = std::int64_t{1} << 40; }, "outside int32");
  broken([](auto& c) { c.view.blocks = nullptr; }, "blocks is null");
  broken([](auto& c) { c.view.words = nullptr; }, "words is null");
  broken([](auto& c) { c.view.value_type = ColumnType::float32; }, "int32 or int64");
  broken([](auto& c) { c.view.rows -= 1024; }, "word_count");  // one block fewer: the words no longer add up
}

TEST(BitpackFormat, PackAndUnpackCheckTheirArguments) {
  const std::vector<std::int32_t> values(2048, 3);
  const BitpackPlan plan = plan_bitpack(std::span<const std::int32_t>(values));
  std::vector<BitpackBlockHeader> blocks(plan.blocks.size());
  std::vector<std::uint32_t> words(plan.word_count);
  const std::vector<std::int32_t> other(100, 3);
  EXPECT_GHTIER_ERROR(
      (void)bitpack_into(std::span<const std::int32_t>(other), plan, std::span(blocks), std::span(words)),
      ErrorCode::invalid_argument);
  std::vector<BitpackBlockHeader> too_few(1);
  EXPECT_GHTIER_ERROR(
      (void)bitpack_into(std::span<const std::int32_t>(values), plan, std::span(too_few), std::span(words)),
      ErrorCode::invalid_argument);
  const std::vector<std::int64_t> wide(2048, 3);
  std::vector<BitpackBlockHeader> wide_blocks(2);
  EXPECT_GHTIER_ERROR(
      (void)bitpack_into(std::span<const std::int64_t>(wide), plan, std::span(wide_blocks), std::span(words)),
      ErrorCode::invalid_argument);
  const BitpackedColumnView view =
      bitpack_into(std::span<const std::int32_t>(values), plan, std::span(blocks), std::span(words));
  std::vector<std::int32_t> short_out(10);
  EXPECT_GHTIER_ERROR(unpack(view, std::span(short_out)), ErrorCode::invalid_argument);
  std::vector<std::int64_t> wrong_type(values.size());
  EXPECT_GHTIER_ERROR(unpack(view, std::span(wrong_type)), ErrorCode::invalid_argument);
}

TEST(BitpackFormat, SizesOfAView) {
  BitpackedColumnView view;
  view.rows = 2049;
  view.word_count = 3 * 32 * 12;
  view.value_type = ColumnType::int64;
  EXPECT_EQ(view.block_count(), 3u);
  EXPECT_EQ(view.packed_bytes(), 3u * 16 + 3u * 32 * 12 * 4);
  EXPECT_EQ(view.logical_bytes(), 2049u * 8);
}

// Row counts within 1023 of 2^64: the rounding-up addition of ceil(rows / 1024) wrapped to 0 blocks.
TEST(BitpackFormat, BlockCountOfTheLargestRowCounts) {
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  BitpackedColumnView view;
  view.rows = max;
  EXPECT_EQ(view.block_count(), std::uint64_t{1} << 54);
  view.rows = max - 1022;  // 2^64 - 1023: one row into the last block
  EXPECT_EQ(view.block_count(), std::uint64_t{1} << 54);
  view.rows = max - 1023;  // 2^64 - 1024: exactly 2^54 - 1 full blocks
  EXPECT_EQ(view.block_count(), (std::uint64_t{1} << 54) - 1);
  for (const std::uint64_t rows : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1023}, std::uint64_t{1024},
                                   std::uint64_t{1025}, std::uint64_t{1} << 40}) {
    view.rows = rows;
    EXPECT_EQ(view.block_count(), (rows + 1023) / 1024) << rows;
  }
}

TEST(BitpackFormat, ValidateRefusesHugeColumnsWithoutBlocks) {
  for (const std::uint64_t rows : {std::numeric_limits<std::uint64_t>::max(), std::uint64_t{0} - 1000}) {
    BitpackedColumnView view;
    view.value_type = ColumnType::int32;
    view.rows = rows;  // no headers, no words: a column with no blocks
    EXPECT_GHTIER_ERROR(validate(view), ErrorCode::invalid_argument);
  }
}

// A CPU-only resource that counts what it hands out.
class CountingResource final : public MemoryResource {
 public:
  int live = 0;

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t, bool) override {
    ++live;
    return std::aligned_alloc(alignment, (bytes + alignment - 1) / alignment * alignment);
  }
  void do_deallocate(void* p, std::size_t, std::size_t, cudaStream_t, bool) noexcept override {
    --live;
    std::free(p);
  }
  [[nodiscard]] MemoryMode do_mode() const noexcept override { return MemoryMode::system; }
};

TEST(BitpackFormat, OwningColumnPacksIntoItsResourceAndReturnsIt) {
  CountingResource resource;
  auto rng = test::fresh_rng();
  const auto values = values_of_width<std::int64_t>(rng, 5000, 19, -77);
  {
    BitpackedColumn column = BitpackedColumn::pack(std::span<const std::int64_t>(values), resource);
    EXPECT_EQ(resource.live, 1);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(column.view().words) % 16, 0u);
    BitpackedColumn moved = std::move(column);
    EXPECT_EQ(column.view().rows, 0u);
    std::vector<std::int64_t> out(values.size());
    unpack(moved.view(), std::span(out));
    EXPECT_EQ(out, values);
    BitpackedColumn empty = BitpackedColumn::pack(std::span<const std::int64_t>(), resource);
    EXPECT_EQ(resource.live, 2);
    empty = std::move(moved);
    EXPECT_EQ(resource.live, 1);
  }
  EXPECT_EQ(resource.live, 0);
}

}  // namespace
}  // namespace ghtier
