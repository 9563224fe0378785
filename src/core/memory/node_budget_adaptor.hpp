// NodeBudgetAdaptor: the node-wide host budget (NodeBudget) over one host tier's resource. Bytes are reserved
// in the shared segment before the upstream is asked and released after it frees them, so every process of
// the node sees them; a refusal is an out_of_budget, as the runtime's own budget gives.
#pragma once

#include <memory>

#include "core/memory/node_budget.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier::detail {

/// Counts the bytes requested (not the upstream's rounding), like BudgetAdaptor. Owns its upstream; shares the
/// NodeBudget with the other host tier of the runtime (one slot per process).
class NodeBudgetAdaptor final : public MemoryResource {
 public:
  /// Throws Error(invalid_argument) for a null upstream or budget.
  NodeBudgetAdaptor(std::shared_ptr<MemoryResource> upstream, std::shared_ptr<NodeBudget> budget);
  NodeBudgetAdaptor(const NodeBudgetAdaptor&) = delete;
  NodeBudgetAdaptor& operator=(const NodeBudgetAdaptor&) = delete;

  [[nodiscard]] NodeBudget& budget() const noexcept { return *budget_; }
  [[nodiscard]] MemoryResource& upstream() const noexcept { return *upstream_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) override;
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                     bool synchronous) noexcept override;
  [[nodiscard]] MemoryMode do_mode() const noexcept override { return upstream_->mode(); }

  std::shared_ptr<MemoryResource> upstream_;
  std::shared_ptr<NodeBudget> budget_;
};

}  // namespace ghtier::detail
