// move_pages(2) through syscall(), so ghtier needs no libnuma.
#include "core/runtime/page_residency.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier::detail {

void PageTally::add(int status, std::size_t bytes) noexcept {
  if (status >= 0) {
    bytes_by_node_[status] += bytes;
  } else if (status == -ENOENT) {
    unpopulated_bytes_ += bytes;
  } else {
    unknown_bytes_ += bytes;
  }
}

Residency PageTally::result(int gpu_numa_node) const {
  Residency r;
  r.source = ResidencySource::page_query;
  int host_nodes = 0;
  int host_node = -1;
  for (const auto& [node, bytes] : bytes_by_node_) {
    if (gpu_numa_node >= 0 && node == gpu_numa_node) {
      r.device_bytes += bytes;
    } else {
      r.host_bytes += bytes;
      ++host_nodes;
      host_node = node;
    }
  }
  r.unknown_bytes = unpopulated_bytes_ + unknown_bytes_;
  if (host_nodes == 1) r.numa_node = host_node;
  if (r.device_bytes > 0 && r.host_bytes > 0) {
    r.where = ResidencyKind::mixed;
  } else if (r.device_bytes > 0) {
    r.where = ResidencyKind::device;
  } else if (r.host_bytes > 0) {
    r.where = ResidencyKind::host;
  } else if (unknown_bytes_ == 0 && unpopulated_bytes_ > 0) {
    r.where = ResidencyKind::not_populated;
  } else {
    r.where = ResidencyKind::unknown;
  }
  return r;
}

Residency query_page_residency(const void* p, std::size_t bytes, int gpu_numa_node) {
  const long page_size_long = sysconf(_SC_PAGESIZE);
  const std::size_t page_size = page_size_long > 0 ? static_cast<std::size_t>(page_size_long) : 4096;
  const std::uintptr_t begin = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t end = begin + bytes;
  const std::uintptr_t first_page = begin & ~(page_size - 1);
  constexpr std::size_t batch = 16384;  // pages per system call
  std::vector<void*> pages;
  std::vector<int> status;
  pages.reserve(batch);
  status.reserve(batch);
  PageTally tally;
  for (std::uintptr_t page = first_page; page < end;) {
    pages.clear();
    for (; page < end && pages.size() < batch; page += page_size) pages.push_back(reinterpret_cast<void*>(page));
    status.assign(pages.size(), 0);
    const long rc =
        syscall(SYS_move_pages, 0, static_cast<unsigned long>(pages.size()), pages.data(), nullptr, status.data(), 0);
    if (rc < 0) {
      const int err = errno;
      throw_error(ErrorCode::unsupported, fmt::format("residency: move_pages (query) failed for {} pages at {}: {}",
                                                      pages.size(), pages.front(), std::strerror(err)));
    }
    for (std::size_t i = 0; i < pages.size(); ++i) {
      const std::uintptr_t lo = std::max(begin, reinterpret_cast<std::uintptr_t>(pages[i]));
      const std::uintptr_t hi = std::min(end, reinterpret_cast<std::uintptr_t>(pages[i]) + page_size);
      tally.add(status[i], hi - lo);
    }
  }
  return tally.result(gpu_numa_node);
}

}  // namespace ghtier::detail
