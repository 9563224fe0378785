// StagingRing transitions; an illegal one is a bug in the engine and says which slot and state.
#include "engine/staging_ring.hpp"

#include <fmt/format.h>

#include "core/support/enum_names.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

constexpr detail::EnumName<SlotState> slot_state_names[] = {
    {SlotState::free, "free"},
    {SlotState::filling, "filling"},
    {SlotState::in_flight, "in_flight"},
    {SlotState::draining, "draining"},
};
static_assert(detail::enum_names_complete(slot_state_names, SlotState::free, SlotState::draining));

std::string_view to_string(SlotState state) noexcept { return detail::enum_to_string(slot_state_names, state); }

StagingRing::StagingRing(std::size_t slots) {
  if (slots == 0) throw_error(ErrorCode::invalid_argument, "StagingRing: a ring needs at least one slot");
  states_.assign(slots, SlotState::free);
  directions_.assign(slots, StagingDirection::to_device);
}

std::optional<std::size_t> StagingRing::acquire(StagingDirection direction) {
  const std::size_t slot = next_;
  if (states_[slot] != SlotState::free) return std::nullopt;
  states_[slot] = direction == StagingDirection::to_device ? SlotState::filling : SlotState::in_flight;
  directions_[slot] = direction;
  next_ = (next_ + 1) % states_.size();
  ++in_use_;
  if (in_use_ > peak_in_use_) peak_in_use_ = in_use_;
  return slot;
}

void StagingRing::require(std::size_t slot, SlotState expected, const char* transition) const {
  if (slot >= states_.size()) {
    throw_error(ErrorCode::internal,
                fmt::format("StagingRing::{}: slot {} is out of range (ring of {})", transition, slot, states_.size()));
  }
  if (states_[slot] != expected) {
    throw_error(ErrorCode::internal, fmt::format("StagingRing::{}: slot {} is {}, expected {}", transition, slot,
                                                 to_string(states_[slot]), to_string(expected)));
  }
}

void StagingRing::start_dma(std::size_t slot) {
  require(slot, SlotState::filling, "start_dma");
  states_[slot] = SlotState::in_flight;
}

void StagingRing::start_drain(std::size_t slot) {
  require(slot, SlotState::in_flight, "start_drain");
  if (directions_[slot] != StagingDirection::to_host) {
    throw_error(ErrorCode::internal,
                fmt::format("StagingRing::start_drain: slot {} carries data to the device, nothing to drain", slot));
  }
  states_[slot] = SlotState::draining;
}

void StagingRing::release(std::size_t slot) {
  if (slot < states_.size() && directions_[slot] == StagingDirection::to_host) {
    require(slot, SlotState::draining, "release");
  } else {
    require(slot, SlotState::in_flight, "release");
  }
  states_[slot] = SlotState::free;
  --in_use_;
}

SlotState StagingRing::state(std::size_t slot) const {
  if (slot >= states_.size()) {
    throw_error(ErrorCode::invalid_argument, fmt::format("StagingRing::state: slot {} is out of range", slot));
  }
  return states_[slot];
}

StagingDirection StagingRing::direction(std::size_t slot) const {
  if (slot >= states_.size()) {
    throw_error(ErrorCode::invalid_argument, fmt::format("StagingRing::direction: slot {} is out of range", slot));
  }
  return directions_[slot];
}

}  // namespace ghtier::detail
