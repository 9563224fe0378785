// BatchBuilder: greedy packing of item pieces into calls under both limits.
#include "engine/batch_builder.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "ghtier/error.hpp"

namespace ghtier::detail {

BatchBuilder::BatchBuilder(std::size_t max_call_bytes, std::size_t max_items)
    : max_call_bytes_(max_call_bytes), max_items_(max_items) {
  if (max_call_bytes == 0) throw_error(ErrorCode::invalid_argument, "BatchBuilder: max_call_bytes is zero");
  if (max_items == 0) throw_error(ErrorCode::invalid_argument, "BatchBuilder: max_items is zero");
}

std::vector<BatchCall> BatchBuilder::build(std::span<const BatchCopyItem> items) const {
  std::vector<BatchCall> calls;
  BatchCall current;
  std::size_t remaining = items.size();  // items not yet placed: what the next call can hold at most
  auto start_call = [&] {
    const std::size_t expected = std::min(max_items_, std::max<std::size_t>(remaining, 1));
    current.dsts.reserve(expected);
    current.srcs.reserve(expected);
    current.sizes.reserve(expected);
  };
  auto flush = [&] {
    if (current.count() > 0) calls.push_back(std::move(current));
    current = BatchCall{};
    start_call();
  };
  start_call();
  for (const BatchCopyItem& item : items) {
    // Whole items stay whole; only an item larger than a call is cut, into call-sized pieces.
    std::size_t done = 0;
    while (done < item.bytes) {
      const std::size_t piece = std::min(item.bytes - done, max_call_bytes_);
      if (current.count() == max_items_ || current.bytes + piece > max_call_bytes_) flush();
      current.dsts.push_back(static_cast<std::byte*>(item.dst) + done);
      current.srcs.push_back(static_cast<const std::byte*>(item.src) + done);
      current.sizes.push_back(piece);
      current.bytes += piece;
      done += piece;
    }
    --remaining;
  }
  if (current.count() > 0) calls.push_back(std::move(current));
  return calls;
}

}  // namespace ghtier::detail
