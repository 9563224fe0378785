// touch_pages: contiguous slices, one per thread, page-aligned so no page is touched twice.
#include "core/memory/page_toucher.hpp"

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace ghtier::detail {

namespace {
// Below this a slice is not worth a thread (thread start costs ~20 us; faulting 64 MiB of 4 KiB pages ~5 ms).
constexpr std::size_t min_bytes_per_thread = std::size_t{64} << 20;

void touch_slice(volatile unsigned char* begin, std::size_t bytes, std::size_t page_bytes) noexcept {
  for (std::size_t offset = 0; offset < bytes; offset += page_bytes) begin[offset] = 0;
}
}  // namespace

int default_touch_threads() noexcept {
  const unsigned hardware = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(hardware, 1U, 16U));
}

void touch_pages(void* p, std::size_t bytes, int threads, std::size_t page_bytes) noexcept {
  if (p == nullptr || bytes == 0) return;
  if (page_bytes == 0) page_bytes = 4096;
  auto* base = static_cast<volatile unsigned char*>(p);
  const std::size_t wanted = static_cast<std::size_t>(threads > 0 ? threads : default_touch_threads());
  const std::size_t by_size = std::max<std::size_t>(1, bytes / min_bytes_per_thread);
  const std::size_t count = std::min(wanted, by_size);
  if (count <= 1) {
    touch_slice(base, bytes, page_bytes);
    return;
  }
  // Slices are whole pages, so each page belongs to exactly one thread.
  const std::size_t pages = (bytes + page_bytes - 1) / page_bytes;
  const std::size_t pages_per_slice = (pages + count - 1) / count;
  const std::size_t slice_bytes = pages_per_slice * page_bytes;
  std::vector<std::thread> workers;
  std::size_t done_by_workers = slice_bytes;  // the calling thread takes the first slice
  try {
    workers.reserve(count - 1);
    for (std::size_t offset = slice_bytes; offset < bytes; offset += slice_bytes) {
      const std::size_t length = std::min(slice_bytes, bytes - offset);
      workers.emplace_back([=] { touch_slice(base + offset, length, page_bytes); });
      done_by_workers = offset + length;
    }
  } catch (...) {
    // No more threads: the calling thread touches what no worker took.
  }
  touch_slice(base, std::min(slice_bytes, bytes), page_bytes);
  if (done_by_workers < bytes) touch_slice(base + done_by_workers, bytes - done_by_workers, page_bytes);
  for (auto& worker : workers) worker.join();
}

}  // namespace ghtier::detail
