// SystemResource: one anonymous mapping per allocation. Its length is a function of the size alone, so
// deallocate recomputes it and nothing has to be remembered per allocation.
#include "ghtier/memory/system_resource.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/memory/allocation_checks.hpp"
#include "core/memory/host_mapping.hpp"
#include "core/memory/numa_binding.hpp"
#include "core/memory/page_toucher.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/log_nothrow.hpp"
#include "core/support/nvtx_range.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {
struct MappingShape {
  std::size_t length;     // bytes mapped
  std::size_t alignment;  // alignment of the start
  bool huge;              // huge-page advice applies
};

MappingShape shape_of(std::size_t bytes, std::size_t alignment, bool huge_pages) {
  const bool huge = huge_pages && bytes >= detail::huge_page_bytes;
  const std::size_t unit = huge ? detail::huge_page_bytes : detail::base_page_bytes();
  return {detail::align_up(bytes, unit), std::max(alignment, unit), huge};
}
}  // namespace

SystemResource::SystemResource(SystemOptions options) : options_(options) {
  if (options_.numa_node < -1) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("SystemResource: numa_node = {} (a node id, or -1 for none)", options_.numa_node));
  }
  if (options_.populate_threads < 0) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("SystemResource: populate_threads = {} (must be >= 0; 0 = automatic)", options_.populate_threads));
  }
}

void* SystemResource::do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t /*stream*/,
                                  bool /*synchronous*/) {
  detail::check_allocation_arguments(bytes, alignment, "SystemResource::allocate");
  detail::NvtxRange range("ghtier::SystemResource::allocate", bytes);
  const MappingShape shape = shape_of(bytes, alignment, options_.huge_pages);
  detail::HostMapping mapping = detail::HostMapping::map(shape.length, shape.alignment, "SystemResource::allocate");
  if (shape.huge) mapping.advise_huge_pages();
  if (options_.numa_node >= 0) {
    detail::bind_to_numa_node(mapping.data(), mapping.size(), options_.numa_node, options_.strict_numa,
                              "SystemResource::allocate");
  }
  if (options_.populate) detail::touch_pages(mapping.data(), mapping.size(), options_.populate_threads);
  return mapping.release();
}

void SystemResource::do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                                   bool synchronous) noexcept {
  if (p == nullptr) return;
  if (!detail::is_aligned(p, detail::base_page_bytes()) || bytes == 0) {
    detail::log_nothrow(LogLevel::error,
                        "SystemResource::deallocate: {} ({} bytes) is not an allocation of this resource; ignored", p,
                        bytes);
    return;
  }
  // On ATS/HMM a kernel queued on `stream` may still touch the pages: unmapping under it would fault.
  if (!synchronous) GHTIER_CUDA_CHECK_NOTHROW(cudaStreamSynchronize(stream));
  const MappingShape shape = shape_of(bytes, alignment, options_.huge_pages);
  if (munmap(p, shape.length) != 0) {
    const int error = errno;
    detail::log_nothrow(LogLevel::error, "SystemResource::deallocate: munmap({}, {}) failed: {}", p, shape.length,
                        std::strerror(error));
  }
}

}  // namespace ghtier
