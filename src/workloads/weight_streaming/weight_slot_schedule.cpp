// WeightSlotSchedule: ring-slot bookkeeping and prefetch decisions of the weight streamer (pure).
#include "workloads/weight_streaming/weight_slot_schedule.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier::detail {

WeightSlotSchedule::WeightSlotSchedule(std::vector<WeightPlacement> placements, std::size_t slots)
    : acquired_(placements.size(), 0) {
  std::vector<std::size_t> order(placements.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  slot_of_.assign(placements.size(), std::nullopt);
  placements_.assign(placements.size(), WeightPlacement::resident);
  replan(std::move(placements), slots);
  set_order(std::move(order));
}

void WeightSlotSchedule::check_layer(std::size_t layer, const char* call) const {
  if (layer >= placements_.size()) {
    throw_error(ErrorCode::not_found,
                fmt::format("weight streamer {}: layer {} is not registered (there are {} layers)", call, layer,
                            placements_.size()));
  }
}

WeightPlacement WeightSlotSchedule::placement(std::size_t layer) const {
  check_layer(layer, "placement");
  return placements_[layer];
}

bool WeightSlotSchedule::any_acquired() const noexcept {
  return std::any_of(acquired_.begin(), acquired_.end(), [](std::size_t c) { return c > 0; });
}

void WeightSlotSchedule::set_order(std::vector<std::size_t> order) {
  if (order.empty()) throw_error(ErrorCode::invalid_argument, "weight streamer set_order: the order is empty");
  std::vector<std::size_t> position(placements_.size(), order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (order[i] >= placements_.size()) {
      throw_error(ErrorCode::invalid_argument, fmt::format("weight streamer set_order: layer {} at position {} is not "
                                                           "registered (there are {} layers)",
                                                           order[i], i, placements_.size()));
    }
    if (position[order[i]] != order.size()) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("weight streamer set_order: layer {} appears twice (positions {} and {})", order[i],
                              position[order[i]], i));
    }
    position[order[i]] = i;
  }
  order_ = std::move(order);
  position_ = std::move(position);
}

std::size_t WeightSlotSchedule::distance(std::size_t from, std::size_t to) const {
  const std::size_t n = order_.size();
  if (position_[to] == n) return n + 1;  // not in the order: needed least soon
  if (position_[from] == n) return position_[to];
  return (position_[to] + n - position_[from]) % n;
}

std::optional<std::size_t> WeightSlotSchedule::free_slot(std::size_t from, const std::vector<std::size_t>& keep) const {
  std::optional<std::size_t> best;
  std::size_t best_distance = 0;
  for (std::size_t s = 0; s < holder_.size(); ++s) {
    if (!holder_[s]) return s;
    const std::size_t h = *holder_[s];
    if (acquired_[h] > 0 || std::find(keep.begin(), keep.end(), h) != keep.end()) continue;
    const std::size_t d = distance(from, h);
    if (!best || d > best_distance) {
      best = s;
      best_distance = d;
    }
  }
  return best;
}

AcquireDecision WeightSlotSchedule::acquire(std::size_t layer) {
  check_layer(layer, "acquire");
  AcquireDecision decision;
  const auto take = [&](std::size_t who, std::size_t slot) {
    SlotCopy copy{who, slot, holder_[slot]};
    if (copy.evicted) slot_of_[*copy.evicted] = std::nullopt;
    holder_[slot] = who;
    slot_of_[who] = slot;
    return copy;
  };
  if (placements_[layer] == WeightPlacement::streamed) {
    if (slot_of_[layer]) {
      decision.slot = slot_of_[layer];
    } else {
      const auto slot = free_slot(layer, {});
      if (!slot) {
        throw_error(ErrorCode::out_of_budget,
                    fmt::format("weight streamer acquire: layer {} needs a ring slot, but all {} slots hold acquired "
                                "layers (release one first, or give a budget with more slots)",
                                layer, holder_.size()));
      }
      decision.urgent = take(layer, *slot);
      decision.slot = slot;
    }
  }
  ++acquired_[layer];
  // Prefetch the streamed layers that follow in the order, as many as the other slots hold.
  const std::size_t n = order_.size();
  if (position_[layer] == n || holder_.size() < 2) return decision;
  std::vector<std::size_t> upcoming;
  for (std::size_t step = 1; step < n && upcoming.size() + 1 < holder_.size(); ++step) {
    const std::size_t next = order_[(position_[layer] + step) % n];
    if (placements_[next] == WeightPlacement::streamed && next != layer) upcoming.push_back(next);
  }
  for (std::size_t next : upcoming) {
    if (slot_of_[next]) continue;
    const auto slot = free_slot(layer, upcoming);
    if (!slot) break;
    decision.prefetches.push_back(take(next, *slot));
  }
  return decision;
}

void WeightSlotSchedule::release(std::size_t layer) {
  check_layer(layer, "release");
  if (acquired_[layer] == 0) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("weight streamer release: layer {} is not acquired (released twice?)", layer));
  }
  --acquired_[layer];
}

void WeightSlotSchedule::vacate(std::size_t slot) {
  if (slot >= holder_.size()) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("weight streamer: slot {} does not exist (there are {})", slot, holder_.size()));
  }
  if (!holder_[slot]) return;
  if (acquired_[*holder_[slot]] > 0) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("weight streamer: slot {} holds layer {}, which is acquired", slot, *holder_[slot]));
  }
  slot_of_[*holder_[slot]] = std::nullopt;
  holder_[slot] = std::nullopt;
}

void WeightSlotSchedule::replan(std::vector<WeightPlacement> placements, std::size_t slots) {
  if (placements.size() != placements_.size()) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("weight streamer: {} placements for {} layers", placements.size(), placements_.size()));
  }
  if (any_acquired()) {
    throw_error(ErrorCode::invalid_argument,
                "weight streamer: a new plan is taken between passes only; a layer is still acquired (release it)");
  }
  if (slots == 0 && std::find(placements.begin(), placements.end(), WeightPlacement::streamed) != placements.end()) {
    throw_error(ErrorCode::invalid_argument, "weight streamer: streamed layers need at least one ring slot");
  }
  for (std::size_t s = slots; s < holder_.size(); ++s) {
    if (holder_[s]) slot_of_[*holder_[s]] = std::nullopt;
  }
  holder_.resize(slots);
  for (std::size_t layer = 0; layer < placements.size(); ++layer) {
    if (placements[layer] != WeightPlacement::streamed && slot_of_[layer]) {
      holder_[*slot_of_[layer]] = std::nullopt;
      slot_of_[layer] = std::nullopt;
    }
  }
  placements_ = std::move(placements);
}

}  // namespace ghtier::detail
