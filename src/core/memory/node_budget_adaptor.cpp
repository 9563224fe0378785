// NodeBudgetAdaptor: reserve, allocate (giving the bytes back if the upstream fails), free, release.
#include "core/memory/node_budget_adaptor.hpp"

#include "core/memory/allocation_checks.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

NodeBudgetAdaptor::NodeBudgetAdaptor(std::shared_ptr<MemoryResource> upstream, std::shared_ptr<NodeBudget> budget)
    : upstream_(std::move(upstream)), budget_(std::move(budget)) {
  if (!upstream_ || !budget_) {
    throw_error(ErrorCode::invalid_argument, "NodeBudgetAdaptor: the upstream and the node budget must not be null");
  }
}

void* NodeBudgetAdaptor::do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) {
  check_allocation_arguments(bytes, alignment, "NodeBudgetAdaptor::allocate");
  budget_->reserve(bytes);
  try {
    return synchronous ? upstream_->allocate(bytes, alignment) : upstream_->allocate_async(bytes, alignment, stream);
  } catch (...) {
    budget_->release(bytes);
    throw;
  }
}

void NodeBudgetAdaptor::do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                                      bool synchronous) noexcept {
  if (p == nullptr) return;
  if (synchronous) {
    upstream_->deallocate(p, bytes, alignment);
  } else {
    upstream_->deallocate_async(p, bytes, alignment, stream);
  }
  budget_->release(bytes);
}

}  // namespace ghtier::detail
