// SystemResource: plain anonymous mmap memory, optionally huge-page advised, NUMA-bound and populated by
// CPU threads. On ATS (GH200) and HMM platforms the GPU uses it directly; on plain PCIe it is a host-only
// tier that the transfer engine stages through pinned buffers.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>

#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

struct GHTIER_API SystemOptions {
  /// MADV_HUGEPAGE on allocations of 2 MiB or more (which are then 2 MiB aligned and sized).
  bool huge_pages = true;
  /// Host NUMA node to bind each allocation to (mbind), or -1 = none (the kernel's first-touch policy).
  int numa_node = -1;
  /// With a node: MPOL_BIND (true: never elsewhere) or MPOL_PREFERRED (false: elsewhere when it is full).
  bool strict_numa = true;
  /// Fault every page in on the CPU at allocation, with several threads. On GH200 first touch decides
  /// where a page lives: populating from the CPU keeps it in LPDDR5X (on the bound node).
  bool populate = false;
  /// Threads that populate; 0 = as many as the CPU has, at most 16.
  int populate_threads = 0;
};

/// Anonymous mmap memory, one mapping per allocation, munmap on deallocate. Needs no GPU for allocate()
/// and deallocate(); deallocate_async synchronises `stream` first (on ATS/HMM a kernel queued on it may
/// still touch the memory). Any power-of-two alignment is honoured (mappings are page aligned; larger
/// alignments trim an over-sized mapping). Thread-safe.
class GHTIER_API SystemResource final : public MemoryResource {
 public:
  /// Throws Error(invalid_argument) for a node below -1 or populate_threads < 0. Needs no GPU.
  explicit SystemResource(SystemOptions options = {});

  [[nodiscard]] const SystemOptions& options() const noexcept { return options_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) override;
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                     bool synchronous) noexcept override;
  [[nodiscard]] MemoryMode do_mode() const noexcept override { return MemoryMode::system; }

  SystemOptions options_;
};

}  // namespace ghtier
