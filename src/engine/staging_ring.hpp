// StagingRing: the state machine of a ring of pinned staging slots, without the memory. Pageable memory
// that the GPU cannot reach crosses the link through these slots:
//   to the device: free -> filling (CPU threads copy in) -> in_flight (DMA out) -> free
//   to the host:   free -> in_flight (DMA in) -> draining (CPU threads copy out) -> free
// Slots are used strictly in ring order, so the slot to wait for is always the oldest one. Pure.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace ghtier::detail {

enum class SlotState { free, filling, in_flight, draining };
enum class StagingDirection { to_device, to_host };

[[nodiscard]] std::string_view to_string(SlotState state) noexcept;

class StagingRing {
 public:
  /// A ring of `slots` slots (at least 1; throws Error(invalid_argument) otherwise), all free.
  explicit StagingRing(std::size_t slots);

  /// Takes the next slot in ring order if it is free, else nullopt (the caller waits for that slot).
  /// to_device: the slot becomes filling; to_host: in_flight (the DMA into it is enqueued next).
  [[nodiscard]] std::optional<std::size_t> acquire(StagingDirection direction);
  /// to_device: filling -> in_flight, once the CPU copy is done and the DMA is enqueued.
  void start_dma(std::size_t slot);
  /// to_host: in_flight -> draining, once the DMA into the slot has completed.
  void start_drain(std::size_t slot);
  /// to_device: in_flight -> free (DMA done); to_host: draining -> free (CPU copy done).
  void release(std::size_t slot);

  /// The slot acquire() will try next.
  [[nodiscard]] std::size_t next() const noexcept { return next_; }
  [[nodiscard]] SlotState state(std::size_t slot) const;
  [[nodiscard]] StagingDirection direction(std::size_t slot) const;
  [[nodiscard]] std::size_t slots() const noexcept { return states_.size(); }
  [[nodiscard]] std::size_t in_use() const noexcept { return in_use_; }
  [[nodiscard]] std::size_t peak_in_use() const noexcept { return peak_in_use_; }

 private:
  // Throws Error(internal) naming the transition when `slot` is out of range or not in `expected`.
  void require(std::size_t slot, SlotState expected, const char* transition) const;

  std::vector<SlotState> states_;
  std::vector<StagingDirection> directions_;
  std::size_t next_ = 0;
  std::size_t in_use_ = 0;
  std::size_t peak_in_use_ = 0;
};

}  // namespace ghtier::detail
