// HostMapping: mmap over-sized by the alignment and trimmed at both ends, so only the aligned range stays.
#include "core/memory/host_mapping.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "core/memory/allocation_checks.hpp"
#include "core/support/log_nothrow.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

std::size_t base_page_bytes() noexcept {
  static const std::size_t bytes = [] {
    const long value = sysconf(_SC_PAGESIZE);
    return value > 0 ? static_cast<std::size_t>(value) : std::size_t{4096};
  }();
  return bytes;
}

HostMapping HostMapping::map(std::size_t bytes, std::size_t alignment, const char* what) {
  if (bytes == 0) throw_error(ErrorCode::invalid_argument, fmt::format("{}: cannot map 0 bytes", what));
  const std::size_t page = base_page_bytes();
  if (alignment < page) alignment = page;
  const std::size_t size = align_up(bytes, page);
  const std::size_t mapped = size + (alignment - page);  // room to slide the start to an aligned address
  void* raw = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) {
    const int error = errno;
    throw OutOfMemoryError(fmt::format("{}: mmap of {} bytes failed: {}", what, mapped, std::strerror(error)));
  }
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = align_up(start, alignment);
  // Trim the slack before and after the aligned range (page-granular, so munmap accepts both pieces).
  if (aligned > start) munmap(raw, aligned - start);
  const std::uintptr_t end = aligned + size;
  const std::uintptr_t mapped_end = start + mapped;
  if (mapped_end > end) munmap(reinterpret_cast<void*>(end), mapped_end - end);
  return HostMapping(reinterpret_cast<void*>(aligned), size);
}

HostMapping HostMapping::adopt(void* data, std::size_t bytes) noexcept { return HostMapping(data, bytes); }

HostMapping::~HostMapping() { unmap(); }

HostMapping::HostMapping(HostMapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

HostMapping& HostMapping::operator=(HostMapping&& other) noexcept {
  if (this != &other) {
    unmap();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

bool HostMapping::advise_huge_pages() noexcept {
  if (data_ == nullptr) return false;
  if (madvise(data_, size_, MADV_HUGEPAGE) != 0) {
    const int error = errno;
    log_nothrow(LogLevel::debug, "madvise(MADV_HUGEPAGE) on {} bytes refused: {}", size_, std::strerror(error));
    return false;
  }
  return true;
}

void* HostMapping::release() noexcept {
  size_ = 0;
  return std::exchange(data_, nullptr);
}

void HostMapping::unmap() noexcept {
  if (data_ != nullptr && munmap(data_, size_) != 0) {
    const int error = errno;
    log_nothrow(LogLevel::error, "munmap({}, {}) failed: {}", data_, size_, std::strerror(error));
  }
  data_ = nullptr;
  size_ = 0;
}

}  // namespace ghtier::detail
