// The bit-packed column format (include/ghtier/kernels/bitpacked_column.hpp), host side. Two kinds of input:
// values, which must pack (or be refused: an int64 block whose range passes 32 bits) and unpack to the
// same values; and a packed column as untrusted bytes (headers and words as given), which validate() must
// refuse or accept, and once accepted unpack() must decode exactly as an independent reading of the
// documented format does, without touching a byte outside the headers and words.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_check.hpp"
#include "ghtier/kernels/bitpacked_column.hpp"

namespace {

using namespace ghtier;

/// Value `row` of a valid column, read straight from the format's description.
std::int64_t reference_value(const BitpackedColumnView& column, std::uint64_t row) {
  const BitpackBlockHeader& h = column.blocks[row / bitpack_block_values];
  const std::uint64_t in_block = row % bitpack_block_values;
  const std::uint64_t lane = in_block % 32;
  const std::uint64_t entry = in_block / 32;
  std::uint64_t packed = 0;
  for (std::uint32_t bit = 0; bit < h.width; ++bit) {
    const std::uint64_t stream_bit = entry * h.width + bit;
    const std::uint64_t word = std::uint64_t{32} * h.offset + (stream_bit / 32) * 32 + lane;
    packed |= static_cast<std::uint64_t>((column.words[word] >> (stream_bit % 32)) & 1u) << bit;
  }
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(h.reference) + packed);
}

template <typename T>
void round_trip(FuzzedDataProvider& in) {
  std::vector<T> values(in.ConsumeIntegralInRange<std::size_t>(0, 3 * bitpack_block_values));
  const T base = in.ConsumeIntegral<T>();
  const int spread_bits = in.ConsumeIntegralInRange(0, 8 * static_cast<int>(sizeof(T)));
  for (T& v : values) {
    const auto noise = spread_bits == 0 ? 0 : in.ConsumeIntegral<std::uint64_t>() >> (64 - spread_bits);
    v = static_cast<T>(static_cast<std::uint64_t>(base) + noise);  // wraps on purpose: any value
  }
  BitpackPlan plan;
  if (!fuzz::returns_or_refuses([&] { plan = plan_bitpack(std::span<const T>(values)); })) {
    fuzz::check(sizeof(T) == 8, "plan_bitpack refused int32 values (every int32 block fits 32 bits)");
    return;
  }
  std::vector<BitpackBlockHeader> blocks(plan.blocks.size());
  std::vector<std::uint32_t> words(plan.word_count);
  BitpackedColumnView view;
  fuzz::check(fuzz::returns_or_refuses(
                  [&] { view = bitpack_into(std::span<const T>(values), plan, std::span(blocks), std::span(words)); }),
              "bitpack_into refused its own plan");
  fuzz::check(fuzz::returns_or_refuses([&] { validate(view); }), "validate refused a freshly packed column");
  std::vector<T> out(values.size());
  fuzz::check(fuzz::returns_or_refuses([&] { unpack(view, std::span(out)); }), "unpack refused a packed column");
  fuzz::check(out == values, "pack then unpack changed the values");
  for (std::uint64_t row = 0; row < view.rows; row += 97) {
    fuzz::check(static_cast<T>(reference_value(view, row)) == values[row], "the packed bits do not follow the format");
  }
}

void untrusted_column(FuzzedDataProvider& in) {
  BitpackedColumnView view;
  view.value_type = static_cast<ColumnType>(in.ConsumeIntegralInRange<int>(0, 4));
  view.rows = in.ConsumeBool() ? in.ConsumeIntegralInRange<std::uint64_t>(0, 4 * bitpack_block_values)
                               : in.ConsumeIntegral<std::uint64_t>();
  // Headers and words as given; the view claims what the input says, the vectors hold what it has.
  std::vector<BitpackBlockHeader> blocks(in.ConsumeIntegralInRange<std::size_t>(0, 6));
  for (BitpackBlockHeader& h : blocks) {
    h.reference = in.ConsumeIntegral<std::int64_t>();
    h.width = in.ConsumeBool() ? in.ConsumeIntegralInRange<std::uint32_t>(0, 33) : in.ConsumeIntegral<std::uint32_t>();
    h.offset =
        in.ConsumeBool() ? in.ConsumeIntegralInRange<std::uint32_t>(0, 200) : in.ConsumeIntegral<std::uint32_t>();
  }
  std::vector<std::uint32_t> words(in.ConsumeIntegralInRange<std::size_t>(0, 32 * 33 * 6));
  for (std::uint32_t& w : words) w = in.ConsumeIntegral<std::uint32_t>();
  view.word_count = in.ConsumeBool() ? words.size() : in.ConsumeIntegral<std::uint64_t>();
  // The caller's contract: block_count() headers and word_count words exist. Keep it, or there is
  // nothing to check; the format's rules are what validate() must enforce.
  if (view.block_count() != blocks.size() || view.word_count > words.size()) return;
  view.blocks = blocks.data();
  view.words = words.data();
  if (!fuzz::returns_or_refuses([&] { validate(view); })) return;
  fuzz::check(view.value_type == ColumnType::int32 || view.value_type == ColumnType::int64,
              "validate accepted a value type other than int32 and int64");
  auto decode = [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> out(view.rows);
    fuzz::check(fuzz::returns_or_refuses([&] { unpack(view, std::span(out)); }), "unpack refused a valid column");
    for (std::uint64_t row = 0; row < view.rows; ++row) {
      fuzz::check(out[row] == static_cast<T>(reference_value(view, row)), "unpack disagrees with the format");
    }
  };
  if (view.value_type == ColumnType::int32) {
    decode(std::int32_t{});
  } else {
    decode(std::int64_t{});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange(0, 2)) {
    case 0: round_trip<std::int32_t>(in); break;
    case 1: round_trip<std::int64_t>(in); break;
    default: untrusted_column(in); break;
  }
  return 0;
}
