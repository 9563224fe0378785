// The KV store's block accounting (see kv_block_ledger.hpp).
#include "kv_block_ledger.hpp"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {

std::vector<std::size_t> all_slots(std::size_t count) {
  std::vector<std::size_t> slots(count);
  // Handed out from the back: slot 0 first, so that tables read naturally in tests and traces.
  for (std::size_t i = 0; i < count; ++i) slots[i] = count - 1 - i;
  return slots;
}

}  // namespace

KvBlockLedger::KvBlockLedger(std::size_t tokens_per_block, std::size_t device_slots, std::size_t host_slots)
    : tokens_per_block_(tokens_per_block),
      free_device_(all_slots(device_slots)),
      free_host_(all_slots(host_slots)),
      device_owner_(device_slots, free_slot),
      host_owner_(host_slots, free_slot) {
  if (tokens_per_block == 0) throw_error(ErrorCode::invalid_argument, "KV block ledger: tokens_per_block is 0");
  if (device_slots == 0) throw_error(ErrorCode::invalid_argument, "KV block ledger: the device pool has no block");
}

KvBlockLedger::Session& KvBlockLedger::session_locked(KvSessionId id) {
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) throw_error(ErrorCode::not_found, fmt::format("KV cache: no session {}", id));
  return it->second;
}

const KvBlockLedger::Session& KvBlockLedger::session_locked(KvSessionId id) const {
  return const_cast<KvBlockLedger*>(this)->session_locked(id);
}

KvBlockId KvBlockLedger::new_block_locked() {
  if (!free_block_ids_.empty()) {
    const KvBlockId id = free_block_ids_.back();
    free_block_ids_.pop_back();
    blocks_[id] = Block{};
    return id;
  }
  blocks_.emplace_back();
  return static_cast<KvBlockId>(blocks_.size() - 1);
}

std::size_t KvBlockLedger::take_device_slot_locked(KvBlockId owner) {
  const std::size_t slot = free_device_.back();
  free_device_.pop_back();
  device_owner_[slot] = owner;
  return slot;
}

std::size_t KvBlockLedger::take_host_slot_locked(KvBlockId owner) {
  const std::size_t slot = free_host_.back();
  free_host_.pop_back();
  host_owner_[slot] = owner;
  return slot;
}

void KvBlockLedger::free_block_locked(KvBlockId id) {
  Block& b = blocks_[id];
  if (b.device_slot) {
    if (b.draining) {
      device_owner_[*b.device_slot] = orphan_draining;
    } else {
      device_owner_[*b.device_slot] = free_slot;
      free_device_.push_back(*b.device_slot);
    }
  }
  if (b.host_slot) {
    host_owner_[*b.host_slot] = free_slot;
    free_host_.push_back(*b.host_slot);
  }
  b = Block{};
  free_block_ids_.push_back(id);
}

void KvBlockLedger::touch_locked(const Session& s) {
  ++clock_;
  for (const KvBlockId id : s.blocks) {
    blocks_[id].last_use = clock_;
    blocks_[id].priority = s.priority;
  }
}

void KvBlockLedger::sort_for_eviction_locked(std::vector<KvBlockId>& candidates) const {
  std::sort(candidates.begin(), candidates.end(), [&](KvBlockId a, KvBlockId b) {
    const Block& x = blocks_[a];
    const Block& y = blocks_[b];
    return std::tuple(x.priority, x.last_use, ~x.position, a) < std::tuple(y.priority, y.last_use, ~y.position, b);
  });
}

bool KvBlockLedger::make_device_room_locked(std::size_t count, const Session* keep) {
  if (free_device_.size() >= count) return true;
  const std::size_t shortfall = count - free_device_.size();
  // Unused blocks with a host copy leave the device without a copy; in-use blocks are never candidates.
  std::vector<KvBlockId> candidates;
  for (KvBlockId id = 0; id < blocks_.size(); ++id) {
    const Block& b = blocks_[id];
    if (b.refs > 0 && b.active_refs == 0 && b.device_slot && !b.draining && b.host_slot) candidates.push_back(id);
  }
  if (keep != nullptr) {
    std::erase_if(candidates, [&](KvBlockId id) {
      return std::find(keep->blocks.begin(), keep->blocks.end(), id) != keep->blocks.end();
    });
  }
  if (candidates.size() < shortfall) return false;
  sort_for_eviction_locked(candidates);
  for (std::size_t i = 0; i < shortfall; ++i) {
    Block& b = blocks_[candidates[i]];
    device_owner_[*b.device_slot] = free_slot;
    free_device_.push_back(*b.device_slot);
    b.device_slot.reset();
  }
  return true;
}

void KvBlockLedger::truncate_sessions_at_locked(KvBlockId dropped) {
  for (auto& [id, s] : sessions_) {
    const auto at = std::find(s.blocks.begin(), s.blocks.end(), dropped);
    if (at == s.blocks.end()) continue;
    const std::size_t index = static_cast<std::size_t>(at - s.blocks.begin());
    for (std::size_t j = index; j < s.blocks.size(); ++j) {
      Block& b = blocks_[s.blocks[j]];
      --b.refs;
      if (!s.suspended) --b.active_refs;
      if (b.refs == 0) free_block_locked(s.blocks[j]);
    }
    s.blocks.resize(index);
    s.tokens = index * tokens_per_block_;
  }
}

bool KvBlockLedger::make_host_room_locked(std::size_t count) {
  if (free_host_.size() >= count) return true;
  const std::size_t shortfall = count - free_host_.size();
  // Host-only copies of unused blocks are dropped (no further tier): each frees at least its own slot.
  std::vector<KvBlockId> candidates;
  for (KvBlockId id = 0; id < blocks_.size(); ++id) {
    const Block& b = blocks_[id];
    if (b.refs > 0 && b.active_refs == 0 && b.host_slot && !b.device_slot) candidates.push_back(id);
  }
  if (candidates.size() < shortfall) return false;
  sort_for_eviction_locked(candidates);
  for (std::size_t i = 0; i < candidates.size() && free_host_.size() < count; ++i) {
    const Block& b = blocks_[candidates[i]];
    if (b.refs == 0) continue;  // already dropped with an earlier candidate's session tail
    truncate_sessions_at_locked(candidates[i]);
  }
  if (free_host_.size() < count) {
    throw_error(ErrorCode::internal, "KV block ledger: host eviction freed fewer slots than it counted");
  }
  return true;
}

KvSessionId KvBlockLedger::create(int priority) {
  std::lock_guard lock(mutex_);
  const KvSessionId id = next_session_++;
  sessions_[id].priority = priority;
  return id;
}

KvAppendResult KvBlockLedger::append(KvSessionId session, std::size_t n_tokens) {
  std::lock_guard lock(mutex_);
  Session& s = session_locked(session);
  if (s.suspended) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("KV cache: append to session {}: it is suspended; resume it first", session));
  }
  if (n_tokens == 0) throw_error(ErrorCode::invalid_argument, "KV cache: append of 0 tokens");
  // Free token places in the last block (0: no block yet, or it is full).
  const std::size_t room_in_last = s.blocks.empty() ? 0 : tokens_per_block_ - blocks_[s.blocks.back()].tokens;
  const bool copy_on_write = room_in_last > 0 && blocks_[s.blocks.back()].refs > 1;
  const std::size_t rest = n_tokens - std::min(n_tokens, room_in_last);
  const std::size_t new_blocks = (rest + tokens_per_block_ - 1) / tokens_per_block_;
  if (!make_device_room_locked(new_blocks + (copy_on_write ? 1 : 0))) {
    throw_error(ErrorCode::out_of_budget,
                fmt::format("KV cache: append of {} tokens to session {} needs {} device blocks; {} are free and no "
                            "unused block can be evicted",
                            n_tokens, session, new_blocks + (copy_on_write ? 1 : 0), free_device_.size()));
  }
  KvAppendResult result;
  if (room_in_last > 0) {
    KvBlockId last = s.blocks.back();
    if (copy_on_write) {
      const KvBlockId copy = new_block_locked();
      Block& old = blocks_[last];
      Block& b = blocks_[copy];
      b.refs = 1;
      b.active_refs = 1;
      b.tokens = old.tokens;
      b.position = old.position;
      b.device_slot = take_device_slot_locked(copy);
      result.copies.copies.push_back({copy, KvTier::device, *old.device_slot, KvTier::device, *b.device_slot});
      --old.refs;
      --old.active_refs;
      s.blocks.back() = last = copy;
    } else if (Block& b = blocks_[last]; b.host_slot) {
      // The host copy no longer matches the block once tokens are added to it.
      host_owner_[*b.host_slot] = free_slot;
      free_host_.push_back(*b.host_slot);
      b.host_slot.reset();
    }
    blocks_[last].tokens += std::min(n_tokens, room_in_last);
  }
  for (std::size_t i = 0; i < new_blocks; ++i) {
    const KvBlockId id = new_block_locked();
    Block& b = blocks_[id];
    b.refs = 1;
    b.active_refs = 1;
    b.tokens = std::min(tokens_per_block_, rest - i * tokens_per_block_);
    b.position = s.blocks.size();
    b.device_slot = take_device_slot_locked(id);
    s.blocks.push_back(id);
    result.new_blocks.push_back(id);
  }
  s.tokens += n_tokens;
  touch_locked(s);
  return result;
}

std::vector<std::size_t> KvBlockLedger::block_table(KvSessionId session) const {
  std::lock_guard lock(mutex_);
  const Session& s = session_locked(session);
  if (s.suspended) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("KV cache: block table of session {}: it is suspended; resume it first", session));
  }
  std::vector<std::size_t> table;
  table.reserve(s.blocks.size());
  for (const KvBlockId id : s.blocks) table.push_back(*blocks_[id].device_slot);
  return table;
}

KvCopyPlan KvBlockLedger::suspend(KvSessionId session) {
  std::lock_guard lock(mutex_);
  Session& s = session_locked(session);
  if (s.suspended)
    throw_error(ErrorCode::invalid_argument, fmt::format("KV cache: session {} is already suspended", session));
  std::size_t needed = 0;
  for (const KvBlockId id : s.blocks) needed += blocks_[id].host_slot ? 0 : 1;
  if (!make_host_room_locked(needed)) {
    throw_error(ErrorCode::out_of_budget,
                fmt::format("KV cache: suspend of session {} needs {} host blocks; {} are free and no unused "
                            "host-only block can be dropped: the host tier is full",
                            session, needed, free_host_.size()));
  }
  KvCopyPlan plan;
  for (const KvBlockId id : s.blocks) {
    Block& b = blocks_[id];
    if (!b.host_slot) {
      b.host_slot = take_host_slot_locked(id);
      plan.copies.push_back({id, KvTier::device, *b.device_slot, KvTier::host, *b.host_slot});
    }
    if (--b.active_refs == 0) {
      b.draining = true;
      plan.device_slots_to_release.push_back(*b.device_slot);
    }
  }
  s.suspended = true;
  touch_locked(s);
  return plan;
}

void KvBlockLedger::undo_suspend(KvSessionId session, const KvCopyPlan& plan) {
  std::lock_guard lock(mutex_);
  Session& s = session_locked(session);
  if (!s.suspended)
    throw_error(ErrorCode::invalid_argument, fmt::format("KV cache: session {} is not suspended", session));
  for (const KvSlotCopy& c : plan.copies) {
    Block& b = blocks_[c.block];
    if (b.host_slot != c.to_slot)
      throw_error(ErrorCode::invalid_argument, "KV cache: undo of a suspend that is not the last");
    host_owner_[*b.host_slot] = free_slot;
    free_host_.push_back(*b.host_slot);
    b.host_slot.reset();
  }
  for (const KvBlockId id : s.blocks) {
    Block& b = blocks_[id];
    ++b.active_refs;
    b.draining = false;
  }
  s.suspended = false;
}

void KvBlockLedger::release_device_slots(const std::vector<std::size_t>& slots) {
  std::lock_guard lock(mutex_);
  for (const std::size_t slot : slots) {
    if (slot >= device_owner_.size()) {
      throw_error(ErrorCode::invalid_argument, fmt::format("KV cache: release of device slot {}: no such slot", slot));
    }
    const std::int64_t owner = device_owner_[slot];
    if (owner == orphan_draining) {
      device_owner_[slot] = free_slot;
      free_device_.push_back(slot);
      continue;
    }
    if (owner < 0 || !blocks_[owner].draining || blocks_[owner].device_slot != slot) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("KV cache: release of device slot {}: no suspend is copying out of it", slot));
    }
    Block& b = blocks_[owner];
    b.draining = false;
    b.device_slot.reset();
    device_owner_[slot] = free_slot;
    free_device_.push_back(slot);
  }
}

KvCopyPlan KvBlockLedger::resume(KvSessionId session) {
  std::lock_guard lock(mutex_);
  Session& s = session_locked(session);
  if (!s.suspended)
    throw_error(ErrorCode::invalid_argument, fmt::format("KV cache: session {} is not suspended", session));
  std::size_t needed = 0;
  for (const KvBlockId id : s.blocks) needed += (!blocks_[id].device_slot || blocks_[id].draining) ? 1 : 0;
  if (!make_device_room_locked(needed, &s)) {
    throw_error(ErrorCode::out_of_budget,
                fmt::format("KV cache: resume of session {} needs {} device blocks; {} are free and no unused "
                            "block can be evicted",
                            session, needed, free_device_.size()));
  }
  KvCopyPlan plan;
  for (const KvBlockId id : s.blocks) {
    Block& b = blocks_[id];
    if (b.draining) {  // still being copied out: that slot frees on release; the block comes back elsewhere
      device_owner_[*b.device_slot] = orphan_draining;
      b.device_slot.reset();
      b.draining = false;
    }
    if (!b.device_slot) {
      b.device_slot = take_device_slot_locked(id);
      plan.copies.push_back({id, KvTier::host, *b.host_slot, KvTier::device, *b.device_slot});
    }
    ++b.active_refs;
  }
  s.suspended = false;
  touch_locked(s);
  return plan;
}

KvSessionId KvBlockLedger::fork(KvSessionId session) {
  std::lock_guard lock(mutex_);
  const Session source = session_locked(session);
  for (const KvBlockId id : source.blocks) {
    ++blocks_[id].refs;
    if (!source.suspended) ++blocks_[id].active_refs;
  }
  const KvSessionId id = next_session_++;
  sessions_[id] = source;
  return id;
}

void KvBlockLedger::drop(KvSessionId session) {
  std::lock_guard lock(mutex_);
  Session& s = session_locked(session);
  for (const KvBlockId id : s.blocks) {
    Block& b = blocks_[id];
    --b.refs;
    if (!s.suspended) --b.active_refs;
    if (b.refs == 0) free_block_locked(id);
  }
  sessions_.erase(session);
}

std::size_t KvBlockLedger::tokens(KvSessionId session) const {
  std::lock_guard lock(mutex_);
  return session_locked(session).tokens;
}

bool KvBlockLedger::suspended(KvSessionId session) const {
  std::lock_guard lock(mutex_);
  return session_locked(session).suspended;
}

std::size_t KvBlockLedger::session_count() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

KvTierUsage KvBlockLedger::usage() const {
  std::lock_guard lock(mutex_);
  KvTierUsage u;
  u.device_slots_used = device_owner_.size() - free_device_.size();
  u.host_slots_used = host_owner_.size() - free_host_.size();
  for (const std::int64_t owner : device_owner_) {
    if (owner == orphan_draining || (owner >= 0 && blocks_[owner].draining)) ++u.device_slots_draining;
  }
  return u;
}

void KvBlockLedger::check_invariants() const {
  std::lock_guard lock(mutex_);
  const auto fail = [](const std::string& what) { throw_error(ErrorCode::internal, "KV block ledger: " + what); };
  // Free lists: each free slot once, and exactly the slots that no block owns.
  const auto check_pool = [&](const std::vector<std::size_t>& free, const std::vector<std::int64_t>& owner,
                              std::string_view tier) {
    std::vector<bool> listed(owner.size(), false);
    for (const std::size_t slot : free) {
      if (slot >= owner.size() || listed[slot] || owner[slot] != free_slot) {
        fail(fmt::format("{} slot {} is on the free list wrongly or twice", tier, slot));
      }
      listed[slot] = true;
    }
    for (std::size_t slot = 0; slot < owner.size(); ++slot) {
      if (owner[slot] == free_slot && !listed[slot])
        fail(fmt::format("{} slot {} is lost: no owner, not free", tier, slot));
    }
  };
  check_pool(free_device_, device_owner_, "device");
  check_pool(free_host_, host_owner_, "host");
  // References counted from the sessions.
  std::vector<std::uint32_t> refs(blocks_.size(), 0), active(blocks_.size(), 0);
  for (const auto& [id, s] : sessions_) {
    if (s.blocks.size() != (s.tokens + tokens_per_block_ - 1) / tokens_per_block_) {
      fail(fmt::format("session {} holds {} blocks for {} tokens", id, s.blocks.size(), s.tokens));
    }
    for (std::size_t i = 0; i < s.blocks.size(); ++i) {
      const KvBlockId bid = s.blocks[i];
      if (bid >= blocks_.size()) fail(fmt::format("session {} holds unknown block {}", id, bid));
      const Block& b = blocks_[bid];
      const std::size_t expected = i + 1 < s.blocks.size() ? tokens_per_block_ : s.tokens - i * tokens_per_block_;
      if (b.tokens != expected)
        fail(fmt::format("block {} of session {} holds {} tokens, not {}", bid, id, b.tokens, expected));
      ++refs[bid];
      if (!s.suspended) {
        ++active[bid];
        if (!b.device_slot || b.draining)
          fail(fmt::format("block {} of active session {} is not on the device", bid, id));
      } else if (!b.host_slot) {
        fail(fmt::format("block {} of suspended session {} has no host copy", bid, id));
      }
    }
  }
  for (KvBlockId id = 0; id < blocks_.size(); ++id) {
    const Block& b = blocks_[id];
    if (b.refs != refs[id] || b.active_refs != active[id]) {
      fail(fmt::format("block {} counts {} / {} references, the sessions hold {} / {}", id, b.refs, b.active_refs,
                       refs[id], active[id]));
    }
    if (b.refs == 0 && (b.device_slot || b.host_slot)) fail(fmt::format("free block {} still holds a slot", id));
    if (b.device_slot && device_owner_[*b.device_slot] != static_cast<std::int64_t>(id)) {
      fail(fmt::format("block {} and device slot {} disagree on the owner (shared by mistake?)", id, *b.device_slot));
    }
    if (b.host_slot && host_owner_[*b.host_slot] != static_cast<std::int64_t>(id)) {
      fail(fmt::format("block {} and host slot {} disagree on the owner (shared by mistake?)", id, *b.host_slot));
    }
    if (b.draining && b.active_refs > 0) fail(fmt::format("block {} is in use while its device slot drains", id));
  }
  for (std::size_t slot = 0; slot < device_owner_.size(); ++slot) {
    const std::int64_t owner = device_owner_[slot];
    if (owner >= 0 && (static_cast<std::size_t>(owner) >= blocks_.size() || blocks_[owner].device_slot != slot)) {
      fail(fmt::format("device slot {} names block {} that is elsewhere", slot, owner));
    }
  }
  for (std::size_t slot = 0; slot < host_owner_.size(); ++slot) {
    const std::int64_t owner = host_owner_[slot];
    if (owner >= 0 && (static_cast<std::size_t>(owner) >= blocks_.size() || blocks_[owner].host_slot != slot)) {
      fail(fmt::format("host slot {} names block {} that is elsewhere", slot, owner));
    }
  }
}

}  // namespace ghtier::detail
