// BudgetAdaptor: bytes are reserved against the limit with a compare-and-swap before the upstream is
// asked, and given back if the upstream fails, so concurrent allocations can never overshoot together.
#include "ghtier/memory/budget_adaptor.hpp"

#include <fmt/format.h>

#include "core/memory/allocation_checks.hpp"
#include "core/support/log_nothrow.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

std::size_t BudgetAdaptor::available() const noexcept {
  const std::size_t limit = this->limit();
  const std::size_t used = this->used();
  return used < limit ? limit - used : 0;
}

void* BudgetAdaptor::do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) {
  detail::check_allocation_arguments(bytes, alignment, "BudgetAdaptor::allocate");
  std::size_t used = used_.load(std::memory_order_relaxed);
  for (;;) {
    const std::size_t limit = this->limit();
    if (used > limit || bytes > limit - used) {
      throw OutOfBudgetError(
          fmt::format("{} budget exceeded: requested {} bytes, {} of the limit of {} bytes in use ({} "
                      "available)",
                      to_string(upstream_.mode()), bytes, used, limit, used < limit ? limit - used : 0));
    }
    if (used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed)) break;
  }
  try {
    return synchronous ? upstream_.allocate(bytes, alignment) : upstream_.allocate_async(bytes, alignment, stream);
  } catch (...) {
    used_.fetch_sub(bytes, std::memory_order_relaxed);
    throw;
  }
}

void BudgetAdaptor::do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                                  bool synchronous) noexcept {
  if (p == nullptr) return;
  if (synchronous) {
    upstream_.deallocate(p, bytes, alignment);
  } else {
    upstream_.deallocate_async(p, bytes, alignment, stream);
  }
  // The budget frees the bytes when the free is issued: a stream-ordered free's memory is reusable by work
  // ordered after it, which is what the next allocation on that stream will be.
  std::size_t used = used_.load(std::memory_order_relaxed);
  std::size_t next = 0;
  do {
    if (bytes > used) {
      detail::log_nothrow(LogLevel::error,
                          "BudgetAdaptor::deallocate: {} bytes freed but only {} in use (a size that was never "
                          "allocated here?)",
                          bytes, used);
    }
    next = bytes > used ? 0 : used - bytes;
  } while (!used_.compare_exchange_weak(used, next, std::memory_order_relaxed));
}

}  // namespace ghtier
