// WeightSlotSchedule: the decisions of the weight streamer over plain values, apart from the bytes it moves
// (tested on the CPU). It knows which streamed layer each ring slot holds, which layers are acquired, and on
// acquire() says which copies to queue: an urgent one when the layer is not in a slot (a changed order: a
// MoE expert, a skipped layer) and the prefetches of the streamed layers that follow it in the pass order.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "ghtier/workloads/weight_plan.hpp"

namespace ghtier::detail {

/// A copy of one streamed layer's weights into one ring slot.
struct SlotCopy {
  std::size_t layer = 0;
  std::size_t slot = 0;
  /// The layer whose weights the slot held and that must be done (its release event) before the copy
  /// overwrites them; nullopt when the slot was empty.
  std::optional<std::size_t> evicted;
};

/// What acquire() decided.
struct AcquireDecision {
  std::optional<std::size_t> slot;   ///< the slot the layer computes from (streamed layers only)
  std::optional<SlotCopy> urgent;    ///< the layer was not in a slot: copy it now, compute waits for it
  std::vector<SlotCopy> prefetches;  ///< background copies of the layers that come next in the order
};

class WeightSlotSchedule {
 public:
  /// A schedule for `placements` (one per layer) with `slots` ring slots. The order is forward (0..n-1).
  /// Throws Error(invalid_argument) for streamed layers without slots.
  WeightSlotSchedule(std::vector<WeightPlacement> placements, std::size_t slots);

  /// The pass order that prefetch follows (a permutation of a subset of the layers, e.g. the reverse for
  /// backward); it repeats. Throws Error(invalid_argument) for an empty order, a layer out of range or twice.
  void set_order(std::vector<std::size_t> order);
  [[nodiscard]] const std::vector<std::size_t>& order() const noexcept { return order_; }

  /// Layer `layer` is acquired (may be acquired again before release: a count). Throws
  /// Error(not_found) for an unknown layer, Error(out_of_budget) when every slot holds an acquired layer.
  [[nodiscard]] AcquireDecision acquire(std::size_t layer);
  /// Undoes one acquire. Throws Error(not_found) for an unknown layer, Error(invalid_argument) for a layer
  /// that is not acquired (a release twice).
  void release(std::size_t layer);

  /// A new plan between passes: layers that stay streamed keep their slots where the slot still exists;
  /// slots past the new count are emptied. Throws Error(invalid_argument) while any layer is acquired, or
  /// for a placement count other than the layers'.
  void replan(std::vector<WeightPlacement> placements, std::size_t slots);
  /// Forgets what a slot holds (its copy could not be queued): the next acquire of that layer copies it
  /// again. Throws Error(invalid_argument) for a slot out of range or one whose layer is acquired.
  void vacate(std::size_t slot);

  [[nodiscard]] std::size_t layers() const noexcept { return placements_.size(); }
  [[nodiscard]] std::size_t slots() const noexcept { return holder_.size(); }
  [[nodiscard]] WeightPlacement placement(std::size_t layer) const;
  /// The layer a slot holds (loaded or loading), or nullopt.
  [[nodiscard]] std::optional<std::size_t> holder(std::size_t slot) const { return holder_.at(slot); }
  [[nodiscard]] bool acquired(std::size_t layer) const { return acquired_.at(layer) > 0; }
  [[nodiscard]] bool any_acquired() const noexcept;

 private:
  void check_layer(std::size_t layer, const char* call) const;
  // A slot for `layer` that no acquired layer and none of `keep` holds: an empty one first, else the one
  // whose holder comes last in the order after `from`.
  [[nodiscard]] std::optional<std::size_t> free_slot(std::size_t from, const std::vector<std::size_t>& keep) const;
  [[nodiscard]] std::size_t distance(std::size_t from, std::size_t to) const;

  std::vector<WeightPlacement> placements_;
  std::vector<std::optional<std::size_t>> holder_;   // per slot
  std::vector<std::optional<std::size_t>> slot_of_;  // per layer
  std::vector<std::size_t> acquired_;                // per layer: acquire count
  std::vector<std::size_t> order_;
  std::vector<std::size_t> position_;  // per layer: index in order_, or order_.size() when not in it
};

}  // namespace ghtier::detail
