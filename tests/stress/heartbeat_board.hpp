// HeartbeatBoard: what each stress thread is doing and since when, so that a watchdog can name the operation
// that hangs (a copy that never completes, a stream that never drains) and end the test instead of waiting.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ghtier::stress {

class HeartbeatBoard {
 public:
  using Clock = std::chrono::steady_clock;

  explicit HeartbeatBoard(std::size_t threads);
  /// Thread `thread` starts `what` at `now`.
  void beat(std::size_t thread, std::string what, Clock::time_point now);
  /// Thread `thread` has finished: never stale again.
  void finish(std::size_t thread);
  /// "thread 3: copy device->system 4096 B, running for 31.0 s" for the first thread whose current operation
  /// started more than `timeout` before `now`, or nullopt.
  [[nodiscard]] std::optional<std::string> stale(Clock::time_point now, Clock::duration timeout) const;

 private:
  struct Entry {
    std::string what;
    Clock::time_point since;
    bool finished = false;
  };
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
};

}  // namespace ghtier::stress
