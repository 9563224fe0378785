// Residency of system (and pinned) memory from the kernel's page table: move_pages(2) in query mode
// (nodes = NULL) says, page by page, which NUMA node holds it or that it is not populated.
#pragma once

#include <cstddef>
#include <map>

#include "ghtier/runtime/residency.hpp"

namespace ghtier::detail {

/// Pure: adds up per-page answers of move_pages and turns them into a Residency.
class PageTally {
 public:
  /// One page's answer: a node id (>= 0) or a negative errno (-ENOENT: not populated; others: unknown),
  /// and how many bytes of the queried range lie in that page.
  void add(int status, std::size_t bytes) noexcept;
  /// The summary: pages on `gpu_numa_node` (GH200 exposes HBM as a NUMA node; -1 = none) count as device,
  /// others as host. One side only -> device or host; both -> mixed; none known -> not_populated when
  /// every page is unpopulated, else unknown. numa_node is set when all host bytes are on one node.
  [[nodiscard]] Residency result(int gpu_numa_node) const;

 private:
  std::map<int, std::size_t> bytes_by_node_;
  std::size_t unpopulated_bytes_ = 0;
  std::size_t unknown_bytes_ = 0;
};

/// Queries [p, p + bytes) with move_pages page by page (in batches) and tallies the answers. Throws
/// Error(unsupported) when the kernel refuses the query itself (e.g. move_pages is filtered by seccomp).
[[nodiscard]] Residency query_page_residency(const void* p, std::size_t bytes, int gpu_numa_node);

}  // namespace ghtier::detail
