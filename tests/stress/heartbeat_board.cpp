// HeartbeatBoard: one entry per thread under a mutex.
#include "heartbeat_board.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace ghtier::stress {

HeartbeatBoard::HeartbeatBoard(std::size_t threads) : entries_(threads) {
  const auto now = Clock::now();
  for (Entry& e : entries_) {
    e.what = "starting";
    e.since = now;
  }
}

void HeartbeatBoard::beat(std::size_t thread, std::string what, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Entry& e = entries_.at(thread);
  e.what = std::move(what);
  e.since = now;
}

void HeartbeatBoard::finish(std::size_t thread) {
  std::lock_guard lock(mutex_);
  entries_.at(thread).finished = true;
}

std::optional<std::string> HeartbeatBoard::stale(Clock::time_point now, Clock::duration timeout) const {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (!e.finished && now - e.since > timeout) {
      return fmt::format("thread {}: {}, running for {:.1f} s", i, e.what,
                         std::chrono::duration<double>(now - e.since).count());
    }
  }
  return std::nullopt;
}

}  // namespace ghtier::stress
