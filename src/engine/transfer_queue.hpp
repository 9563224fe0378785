// TransferQueue: the order in which one lane of the engine starts work. Urgent jobs before background ones,
// first come first served within a priority. The dispatcher takes one chunk of the front job at a time and
// asks again, so an urgent job that arrives behind a long background one goes next, after at most a chunk.
// Pure (a template over the job type), so the ordering is tested without a GPU.
#pragma once

#include <array>
#include <cstddef>
#include <deque>
#include <utility>
#include <vector>

#include "ghtier/engine/transfer_request.hpp"

namespace ghtier::detail {

inline constexpr std::array<TransferPriority, 2> priorities_in_order{TransferPriority::urgent,
                                                                     TransferPriority::background};

[[nodiscard]] constexpr std::size_t priority_index(TransferPriority priority) noexcept {
  return priority == TransferPriority::urgent ? 0 : 1;
}

template <typename Job>
class TransferQueue {
 public:
  /// Appends a job behind every other job of its priority.
  void push(Job job, TransferPriority priority) {
    auto& fifo = fifos_[priority_index(priority)];
    fifo.push_back(std::move(job));
    const std::size_t depth = size();
    if (depth > peak_) peak_ = depth;
  }

  /// The job that should move next among the priorities allowed (urgent first), or nullptr.
  [[nodiscard]] Job* front(bool allow_urgent = true, bool allow_background = true) {
    if (allow_urgent && !fifos_[0].empty()) return &fifos_[0].front();
    if (allow_background && !fifos_[1].empty()) return &fifos_[1].front();
    return nullptr;
  }

  /// The front job of one priority, or nullptr.
  [[nodiscard]] Job* front_of(TransferPriority priority) {
    auto& fifo = fifos_[priority_index(priority)];
    return fifo.empty() ? nullptr : &fifo.front();
  }

  /// Removes the front job of `priority` (once its last chunk has been started). No-op when empty.
  void pop_front(TransferPriority priority) {
    auto& fifo = fifos_[priority_index(priority)];
    if (!fifo.empty()) fifo.pop_front();
  }

  /// Removes and returns every job, urgent first (for cancellation at shutdown).
  [[nodiscard]] std::vector<Job> take_all() {
    std::vector<Job> all;
    for (auto& fifo : fifos_) {
      for (auto& job : fifo) all.push_back(std::move(job));
      fifo.clear();
    }
    return all;
  }

  [[nodiscard]] bool empty() const noexcept { return fifos_[0].empty() && fifos_[1].empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return fifos_[0].size() + fifos_[1].size(); }
  [[nodiscard]] std::size_t size(TransferPriority priority) const noexcept {
    return fifos_[priority_index(priority)].size();
  }
  /// The largest size() seen.
  [[nodiscard]] std::size_t peak_size() const noexcept { return peak_; }

 private:
  std::array<std::deque<Job>, 2> fifos_;
  std::size_t peak_ = 0;
};

}  // namespace ghtier::detail
