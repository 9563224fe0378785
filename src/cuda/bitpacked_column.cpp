// The CPU side of bit-packed columns: plan (per-block frame of reference and width), pack, validate,
// unpack (the reference decoder), and the owning BitpackedColumn. Format: include/ghtier/kernels/bitpacked_column.hpp.
#include "ghtier/kernels/bitpacked_column.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/support/blocking_copy.hpp"
#include "core/support/cuda_check.hpp"
#include "ghtier/error.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

namespace {

constexpr std::uint32_t lanes = 32;
// Below this many blocks (256 Ki values) one thread packs faster than starting others.
constexpr std::size_t parallel_block_threshold = 256;

// Runs fn(first_block, last_block) over [0, blocks) on up to 16 threads.
template <typename Fn>
void for_block_ranges(std::size_t blocks, Fn&& fn) {
  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t threads = blocks < parallel_block_threshold ? 1 : std::min<std::size_t>(hardware, 16);
  if (threads <= 1) {
    fn(std::size_t{0}, blocks);
    return;
  }
  std::vector<std::thread> workers;
  workers.reserve(threads);
  const std::size_t per_thread = (blocks + threads - 1) / threads;
  for (std::size_t t = 0; t < threads; ++t) {
    const std::size_t first = t * per_thread;
    const std::size_t last = std::min(blocks, first + per_thread);
    if (first >= last) break;
    workers.emplace_back([&fn, first, last] { fn(first, last); });
  }
  for (auto& worker : workers) worker.join();
}

std::uint64_t block_count_of(std::uint64_t rows) {
  return rows / bitpack_block_values + (rows % bitpack_block_values != 0 ? 1 : 0);
}

// Packs one block: the values of block `block` (fewer than 1024 in the last one), 32 * width words.
template <typename T>
void pack_block(std::span<const T> values, std::uint64_t block, const BitpackBlockHeader& header,
                std::uint32_t* block_words) {
  const std::uint32_t width = header.width;
  if (width == 0) return;
  const std::uint64_t first = block * bitpack_block_values;
  const std::uint64_t count = std::min<std::uint64_t>(bitpack_block_values, values.size() - first);
  const auto reference = static_cast<std::uint64_t>(header.reference);
  for (std::uint32_t lane = 0; lane < lanes; ++lane) {
    std::uint32_t stream[bitpack_max_width] = {};
    for (std::uint32_t i = 0; i < lanes; ++i) {
      const std::uint64_t index = static_cast<std::uint64_t>(i) * lanes + lane;
      // The padding of the last block packs as 0.
      const std::uint32_t packed =
          index < count ? static_cast<std::uint32_t>(
                              static_cast<std::uint64_t>(static_cast<std::int64_t>(values[first + index])) - reference)
                        : 0u;
      const std::uint32_t bit = i * width;
      const std::uint32_t word = bit / 32;
      const std::uint32_t shift = bit % 32;
      stream[word] |= packed << shift;
      if (shift + width > 32) stream[word + 1] |= packed >> (32 - shift);
    }
    for (std::uint32_t j = 0; j < width; ++j) block_words[static_cast<std::size_t>(j) * lanes + lane] = stream[j];
  }
}

// The reference decoder of one block.
template <typename T>
void unpack_block(const BitpackBlockHeader& header, const std::uint32_t* block_words, std::uint64_t count, T* out) {
  const std::uint32_t width = header.width;
  const auto reference = static_cast<std::uint64_t>(header.reference);
  const std::uint32_t mask = width == 32 ? ~0u : (1u << width) - 1u;
  for (std::uint64_t index = 0; index < count; ++index) {
    const auto lane = static_cast<std::uint32_t>(index % lanes);
    const auto i = static_cast<std::uint32_t>(index / lanes);
    std::uint32_t packed = 0;
    if (width > 0) {
      const std::uint32_t bit = i * width;
      const std::uint32_t word = bit / 32;
      const std::uint32_t shift = bit % 32;
      packed = block_words[static_cast<std::size_t>(word) * lanes + lane] >> shift;
      if (shift + width > 32) packed |= block_words[static_cast<std::size_t>(word + 1) * lanes + lane] << (32 - shift);
      packed &= mask;
    }
    out[index] = static_cast<T>(static_cast<std::int64_t>(reference + packed));
  }
}

}  // namespace

template <typename T>
BitpackPlan plan_bitpack(std::span<const T> values) {
  static_assert(std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::int64_t>,
                "bit-packed columns hold int32_t or int64_t values");
  BitpackPlan plan;
  plan.value_type = column_type_of<T>;
  plan.rows = values.size();
  const std::uint64_t blocks = block_count_of(values.size());
  plan.blocks.resize(blocks);
  std::vector<std::uint64_t> ranges(blocks);
  for_block_ranges(blocks, [&](std::size_t first_block, std::size_t last_block) {
    for (std::size_t b = first_block; b < last_block; ++b) {
      const std::size_t first = b * bitpack_block_values;
      const std::size_t last = std::min<std::size_t>(values.size(), first + bitpack_block_values);
      const auto [low, high] = std::minmax_element(values.begin() + first, values.begin() + last);
      plan.blocks[b].reference = static_cast<std::int64_t>(*low);
      ranges[b] = static_cast<std::uint64_t>(static_cast<std::int64_t>(*high)) -
                  static_cast<std::uint64_t>(static_cast<std::int64_t>(*low));
    }
  });
  std::uint64_t offset = 0;
  for (std::uint64_t b = 0; b < blocks; ++b) {
    if (ranges[b] > std::numeric_limits<std::uint32_t>::max()) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("plan_bitpack: block {} (rows {}..{}) spans {} (from {}), more than the 32 bits a "
                              "packed value holds",
                              b, b * bitpack_block_values,
                              std::min<std::uint64_t>(values.size(), (b + 1) * bitpack_block_values) - 1, ranges[b],
                              plan.blocks[b].reference));
    }
    plan.blocks[b].width = static_cast<std::uint32_t>(std::bit_width(ranges[b]));
    if (offset > std::numeric_limits<std::uint32_t>::max()) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("plan_bitpack: {} values pack into more than 2^32 units of 128 bytes", values.size()));
    }
    plan.blocks[b].offset = static_cast<std::uint32_t>(offset);
    offset += plan.blocks[b].width;
  }
  plan.word_count = offset * lanes;
  return plan;
}

template <typename T>
BitpackedColumnView bitpack_into(std::span<const T> values, const BitpackPlan& plan,
                                 std::span<BitpackBlockHeader> blocks_out, std::span<std::uint32_t> words_out) {
  static_assert(std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::int64_t>,
                "bit-packed columns hold int32_t or int64_t values");
  if (plan.value_type != column_type_of<T> || plan.rows != values.size() ||
      plan.blocks.size() != block_count_of(values.size())) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("bitpack_into: the plan is for {} {} values in {} blocks, not for these {} {} values", plan.rows,
                    to_string(plan.value_type), plan.blocks.size(), values.size(), to_string(column_type_of<T>)));
  }
  if (blocks_out.size() < plan.blocks.size()) {
    throw_error(ErrorCode::invalid_argument, fmt::format("bitpack_into: blocks_out holds {} headers, the plan needs {}",
                                                         blocks_out.size(), plan.blocks.size()));
  }
  if (words_out.size() < plan.word_count) {
    throw_error(ErrorCode::invalid_argument, fmt::format("bitpack_into: words_out holds {} words, the plan needs {}",
                                                         words_out.size(), plan.word_count));
  }
  std::copy(plan.blocks.begin(), plan.blocks.end(), blocks_out.begin());
  for_block_ranges(plan.blocks.size(), [&](std::size_t first_block, std::size_t last_block) {
    for (std::size_t b = first_block; b < last_block; ++b) {
      const BitpackBlockHeader& header = plan.blocks[b];
      pack_block(values, b, header, words_out.data() + static_cast<std::size_t>(header.offset) * lanes);
    }
  });
  BitpackedColumnView view;
  view.value_type = plan.value_type;
  view.rows = plan.rows;
  view.blocks = blocks_out.data();
  view.words = words_out.data();
  view.word_count = plan.word_count;
  return view;
}

void validate(const BitpackedColumnView& column) {
  if (!is_integer(column.value_type)) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("bit-packed column: the value type must be int32 or int64, not {}", to_string(column.value_type)));
  }
  const std::uint64_t blocks = column.block_count();
  if (column.rows > 0 && blocks == 0) {
    throw_error(ErrorCode::internal,
                fmt::format("bit-packed column: {} rows but a block count of 0 (broken arithmetic)", column.rows));
  }
  if (blocks > 0 && column.blocks == nullptr) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("bit-packed column: {} rows need {} block headers, but blocks is null", column.rows, blocks));
  }
  if (column.word_count > 0 && column.words == nullptr) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("bit-packed column: word_count is {} but words is null", column.word_count));
  }
  std::uint64_t expected_offset = 0;
  for (std::uint64_t b = 0; b < blocks; ++b) {
    const BitpackBlockHeader& header = column.blocks[b];
    if (header.width > bitpack_max_width) {
      throw_error(ErrorCode::invalid_argument, fmt::format("bit-packed column: block {} has width {}, above {}", b,
                                                           header.width, bitpack_max_width));
    }
    if (header.offset != expected_offset) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("bit-packed column: block {} starts at offset {} but the blocks before it end at {} "
                              "(blocks must be contiguous and in order)",
                              b, header.offset, expected_offset));
    }
    if (column.value_type == ColumnType::int32 && (header.reference < std::numeric_limits<std::int32_t>::min() ||
                                                   header.reference > std::numeric_limits<std::int32_t>::max())) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("bit-packed column: block {} of an int32 column has reference {}, outside int32", b,
                              header.reference));
    }
    expected_offset += header.width;
  }
  if (column.word_count != expected_offset * lanes) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("bit-packed column: word_count is {} but the blocks' widths add up to {} words",
                            column.word_count, expected_offset * lanes));
  }
}

template <typename T>
void unpack(const BitpackedColumnView& column, std::span<T> out) {
  static_assert(std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::int64_t>,
                "bit-packed columns hold int32_t or int64_t values");
  if (column.value_type != column_type_of<T>) {
    throw_error(ErrorCode::invalid_argument, fmt::format("unpack: the column holds {} values, not {}",
                                                         to_string(column.value_type), to_string(column_type_of<T>)));
  }
  if (out.size() != column.rows) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("unpack: out holds {} values but the column has {} rows", out.size(), column.rows));
  }
  validate(column);
  for_block_ranges(column.block_count(), [&](std::size_t first_block, std::size_t last_block) {
    for (std::size_t b = first_block; b < last_block; ++b) {
      const std::uint64_t first = b * bitpack_block_values;
      const std::uint64_t count = std::min<std::uint64_t>(bitpack_block_values, column.rows - first);
      unpack_block(column.blocks[b], column.words + static_cast<std::size_t>(column.blocks[b].offset) * lanes, count,
                   out.data() + first);
    }
  });
}

template <typename T>
BitpackedColumn BitpackedColumn::pack(std::span<const T> values, MemoryResource& storage) {
  const BitpackPlan plan = plan_bitpack(values);
  const std::size_t header_bytes = (plan.blocks.size() * sizeof(BitpackBlockHeader) + 15) / 16 * 16;
  const std::size_t bytes = std::max<std::size_t>(16, header_bytes + plan.word_count * sizeof(std::uint32_t));
  BitpackedColumn column;
  column.memory_ = storage.allocate(bytes);
  column.storage_ = &storage;
  column.bytes_ = bytes;
  const bool device_memory = storage.mode() == MemoryMode::device;
  // Device memory is packed on the CPU first and copied over; every other mode is CPU-writable.
  std::vector<unsigned char> staging(device_memory ? bytes : 0);
  unsigned char* target = device_memory ? staging.data() : static_cast<unsigned char*>(column.memory_);
  auto* headers = reinterpret_cast<BitpackBlockHeader*>(target);
  auto* words = reinterpret_cast<std::uint32_t*>(target + header_bytes);
  (void)bitpack_into(values, plan, std::span(headers, plan.blocks.size()), std::span(words, plan.word_count));
  if (device_memory) detail::blocking_copy(column.memory_, staging.data(), bytes);  // landed before any stream reads
  auto* base = static_cast<unsigned char*>(column.memory_);
  column.view_.value_type = plan.value_type;
  column.view_.rows = plan.rows;
  column.view_.blocks = reinterpret_cast<const BitpackBlockHeader*>(base);
  column.view_.words = reinterpret_cast<const std::uint32_t*>(base + header_bytes);
  column.view_.word_count = plan.word_count;
  return column;
}

BitpackedColumn::BitpackedColumn(BitpackedColumn&& other) noexcept
    : storage_(std::exchange(other.storage_, nullptr)),
      memory_(std::exchange(other.memory_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      view_(std::exchange(other.view_, BitpackedColumnView{})) {}

BitpackedColumn& BitpackedColumn::operator=(BitpackedColumn&& other) noexcept {
  if (this != &other) {
    release();
    storage_ = std::exchange(other.storage_, nullptr);
    memory_ = std::exchange(other.memory_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    view_ = std::exchange(other.view_, BitpackedColumnView{});
  }
  return *this;
}

BitpackedColumn::~BitpackedColumn() { release(); }

void BitpackedColumn::release() noexcept {
  if (memory_ != nullptr && storage_ != nullptr) storage_->deallocate(memory_, bytes_);
  memory_ = nullptr;
  storage_ = nullptr;
  bytes_ = 0;
  view_ = BitpackedColumnView{};
}

template BitpackPlan plan_bitpack<std::int32_t>(std::span<const std::int32_t>);
template BitpackPlan plan_bitpack<std::int64_t>(std::span<const std::int64_t>);
template BitpackedColumnView bitpack_into<std::int32_t>(std::span<const std::int32_t>, const BitpackPlan&,
                                                        std::span<BitpackBlockHeader>, std::span<std::uint32_t>);
template BitpackedColumnView bitpack_into<std::int64_t>(std::span<const std::int64_t>, const BitpackPlan&,
                                                        std::span<BitpackBlockHeader>, std::span<std::uint32_t>);
template void unpack<std::int32_t>(const BitpackedColumnView&, std::span<std::int32_t>);
template void unpack<std::int64_t>(const BitpackedColumnView&, std::span<std::int64_t>);
template BitpackedColumn BitpackedColumn::pack<std::int32_t>(std::span<const std::int32_t>, MemoryResource&);
template BitpackedColumn BitpackedColumn::pack<std::int64_t>(std::span<const std::int64_t>, MemoryResource&);

}  // namespace ghtier
