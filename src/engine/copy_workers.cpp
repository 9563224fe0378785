// CopyWorkers: a copy is cut into pieces, one task each on the worker pool; workers spin briefly before
// sleeping, since the next chunk's pieces usually arrive within microseconds of the last ones finishing.
#include "engine/copy_workers.hpp"

#include <algorithm>
#include <chrono>

#include "core/platform/cpu_list.hpp"
#include "core/support/log.hpp"
#include "core/support/log_nothrow.hpp"
#include "core/support/nvtx_range.hpp"
#include "engine/copy_thread_affinity.hpp"
#include "engine/stream_copy.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {
constexpr std::size_t min_piece_bytes = std::size_t{256} << 10;
constexpr std::size_t piece_alignment = 4096;
constexpr auto spin_time = std::chrono::microseconds(50);
}  // namespace

unsigned CopyWorkers::default_threads() noexcept {
  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  const unsigned spare = hardware > 4 ? hardware - 4 : 2;
  return std::clamp(spare, 2u, 12u);
}

CopyWorkers::CopyWorkers(unsigned threads, std::vector<int> cpus)
    : pool_("CPU copy threads", threads, spin_time, [cpus = std::move(cpus)] {
        if (const std::string error = pin_this_thread(cpus); !error.empty()) {
          log_nothrow(LogLevel::warn, "CPU copy threads: could not restrict a thread to CPUs {}: {}",
                      format_cpu_list(cpus), error);
        }
      }) {}

CopyWorkers::~CopyWorkers() = default;

void CopyWorkers::post_copy(void* dst, const void* src, std::size_t bytes, std::function<void()> on_done) {
  struct Piece {
    std::byte* dst = nullptr;
    const std::byte* src = nullptr;
    std::size_t bytes = 0;
    std::shared_ptr<Group> group;
  };
  auto group = std::make_shared<Group>();
  group->on_done = std::move(on_done);
  // As many pieces as threads, none under min_piece_bytes, boundaries 4 KiB-aligned in the destination.
  const std::size_t wanted = std::max<std::size_t>(1, std::min<std::size_t>(threads(), bytes / min_piece_bytes));
  std::vector<Piece> pieces;
  pieces.reserve(wanted);
  auto* d = static_cast<std::byte*>(dst);
  const auto* s = static_cast<const std::byte*>(src);
  const std::uintptr_t base = reinterpret_cast<std::uintptr_t>(d);
  std::size_t start = 0;
  for (std::size_t i = 1; i <= wanted; ++i) {
    std::size_t stop = bytes;
    if (i < wanted) {
      const std::uintptr_t target = base + bytes / wanted * i;
      stop = static_cast<std::size_t>((target & ~static_cast<std::uintptr_t>(piece_alignment - 1)) - base);
      if (stop <= start) continue;
    }
    pieces.push_back(Piece{d + start, s + start, stop - start, group});
    start = stop;
  }
  if (pieces.empty()) pieces.push_back(Piece{d, s, bytes, group});
  group->remaining.store(pieces.size(), std::memory_order_relaxed);
  std::vector<WorkerPool::Task> tasks;
  tasks.reserve(pieces.size());
  for (const Piece& piece : pieces) {
    tasks.emplace_back([piece] {
      {
        NvtxRange range("ghtier::staging_copy", piece.bytes);
        stream_copy(piece.dst, piece.src, piece.bytes);
      }
      if (piece.group->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        try {
          if (piece.group->on_done) piece.group->on_done();
        } catch (const std::exception& e) {
          log(LogLevel::error, "CopyWorkers: a completion handler threw: {}", e.what());
        } catch (...) {
          log(LogLevel::error, "CopyWorkers: a completion handler threw an unknown exception");
        }
      }
    });
  }
  pool_.post(std::move(tasks));
}

}  // namespace ghtier::detail
