// HostMapping: one anonymous private mmap region, aligned as asked and unmapped on destruction: the raw
// material of the system and pinned-host modes (huge-page advice and NUMA binding apply to a mapping).
#pragma once

#include <cstddef>

namespace ghtier::detail {

/// Bytes of a huge page on the platforms ghtier targets (x86-64 and Grace with 4 KiB or 64 KiB base pages).
inline constexpr std::size_t huge_page_bytes = std::size_t{2} << 20;

/// The CPU's base page size (sysconf), cached.
[[nodiscard]] std::size_t base_page_bytes() noexcept;

class HostMapping {
 public:
  HostMapping() noexcept = default;
  /// Maps `bytes` (rounded up to the base page size) of anonymous memory whose start is a multiple of
  /// `alignment` (a power of two; page alignment at least). Throws Error: out_of_memory (mmap refused,
  /// with errno's text and `what`), invalid_argument (zero bytes).
  static HostMapping map(std::size_t bytes, std::size_t alignment, const char* what);
  /// Adopts a mapping made elsewhere (e.g. by map() and released): unmapped on destruction.
  static HostMapping adopt(void* data, std::size_t bytes) noexcept;
  ~HostMapping();
  HostMapping(HostMapping&& other) noexcept;
  HostMapping& operator=(HostMapping&& other) noexcept;
  HostMapping(const HostMapping&) = delete;
  HostMapping& operator=(const HostMapping&) = delete;

  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// madvise(MADV_HUGEPAGE). Returns false (and logs at debug level) when the kernel refuses: huge pages
  /// are an optimisation, never a requirement.
  bool advise_huge_pages() noexcept;
  /// Gives up ownership: the caller unmaps (munmap(data, size)).
  void* release() noexcept;

 private:
  HostMapping(void* data, std::size_t size) noexcept : data_(data), size_(size) {}
  void unmap() noexcept;

  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace ghtier::detail
