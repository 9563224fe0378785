// CopyWorkers: the engine's persistent CPU copy threads. Staged copies fill and drain pinned slots with
// them, and host-to-host copies run on them. Persistent matters: spawning threads per chunk loses a third of
// the staged bandwidth (docs/benchmarks.md, "Figures behind defaults").
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace ghtier::detail {

class CopyWorkers {
 public:
  /// Starts `threads` threads (at least 1; throws Error(invalid_argument) for 0).
  explicit CopyWorkers(unsigned threads);
  /// Finishes every posted copy (each on_done runs), then joins the threads.
  ~CopyWorkers();
  CopyWorkers(const CopyWorkers&) = delete;
  CopyWorkers& operator=(const CopyWorkers&) = delete;

  /// Copies `bytes` from src to dst, split across the threads; `on_done` runs exactly once, on a worker,
  /// after the last piece. Never blocks. on_done must not throw (it is caught and logged if it does).
  void post_copy(void* dst, const void* src, std::size_t bytes, std::function<void()> on_done);

  [[nodiscard]] unsigned threads() const noexcept { return static_cast<unsigned>(threads_.size()); }
  /// Default thread count for this machine: hardware threads minus room for the dispatchers, 2..12.
  [[nodiscard]] static unsigned default_threads() noexcept;

 private:
  struct Group {
    std::atomic<std::size_t> remaining{0};
    std::function<void()> on_done;
  };
  struct Piece {
    std::byte* dst = nullptr;
    const std::byte* src = nullptr;
    std::size_t bytes = 0;
    std::shared_ptr<Group> group;
  };

  void run();
  bool take(Piece& piece);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Piece> pieces_;
  std::atomic<std::size_t> queued_{0};
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ghtier::detail
