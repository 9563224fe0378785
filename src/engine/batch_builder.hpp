// BatchBuilder: many small copies -> few batch calls. Each call carries at most max_call_bytes and
// max_items items, so a batch still yields to urgent work between calls; an item larger than a call is cut
// into pieces. The arrays are laid out as cudaMemcpyBatchAsync takes them. Pure.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "ghtier/engine/transfer_request.hpp"

namespace ghtier::detail {

/// The arguments of one cudaMemcpyBatchAsync call (or of one launch of the SM batch copy).
struct BatchCall {
  std::vector<void*> dsts;
  std::vector<const void*> srcs;
  std::vector<std::size_t> sizes;
  std::size_t bytes = 0;  ///< sum of sizes

  [[nodiscard]] std::size_t count() const noexcept { return sizes.size(); }
};

class BatchBuilder {
 public:
  /// Throws Error(invalid_argument) if either limit is zero.
  BatchBuilder(std::size_t max_call_bytes, std::size_t max_items);

  /// The calls for `items`, in item order; zero-byte items are dropped. Every byte of every item appears in
  /// exactly one call.
  [[nodiscard]] std::vector<BatchCall> build(std::span<const BatchCopyItem> items) const;

  [[nodiscard]] std::size_t max_call_bytes() const noexcept { return max_call_bytes_; }
  [[nodiscard]] std::size_t max_items() const noexcept { return max_items_; }

 private:
  std::size_t max_call_bytes_;
  std::size_t max_items_;
};

}  // namespace ghtier::detail
