// CopyWorkers: the engine's persistent CPU copy threads (a WorkerPool). Staged copies fill and drain pinned slots with
// them, and host-to-host copies run on them. Persistent matters: spawning threads per chunk loses a third of
// the staged bandwidth (docs/benchmarks.md, "Figures behind defaults").
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <vector>

#include "engine/worker_pool.hpp"

namespace ghtier::detail {

class CopyWorkers {
 public:
  /// Starts `threads` threads (at least 1; throws Error(invalid_argument) for 0), each restricted to `cpus`
  /// when that is not empty (a failure to restrict is a logged warning: the thread runs where the OS puts it).
  explicit CopyWorkers(unsigned threads, std::vector<int> cpus = {});
  /// Finishes every posted copy (each on_done runs), then joins the threads.
  ~CopyWorkers();
  CopyWorkers(const CopyWorkers&) = delete;
  CopyWorkers& operator=(const CopyWorkers&) = delete;

  /// Copies `bytes` from src to dst, split across the threads; `on_done` runs exactly once, on a worker,
  /// after the last piece. Never blocks. on_done must not throw (it is caught and logged if it does).
  void post_copy(void* dst, const void* src, std::size_t bytes, std::function<void()> on_done);

  [[nodiscard]] unsigned threads() const noexcept { return pool_.threads(); }
  /// Default thread count for this machine: hardware threads minus room for the dispatchers, 2..12.
  [[nodiscard]] static unsigned default_threads() noexcept;

 private:
  struct Group {
    std::atomic<std::size_t> remaining{0};
    std::function<void()> on_done;
  };

  WorkerPool pool_;
};

}  // namespace ghtier::detail
