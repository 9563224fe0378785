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

KvBlockLedger::KvBlockLedger(std::size_t tokens_per_block, std::size_t device_slots, std::size_t host_slots,
                             KvFileIo* files, std::size_t file_blocks, KvClock clock)
    : tokens_per_block_(tokens_per_block),
      free_device_(all_slots(device_slots)),
      free_host_(all_slots(host_slots)),
      device_owner_(device_slots, free_slot),
      host_owner_(host_slots, free_slot),
      files_(files),
      file_blocks_limit_(file_blocks),
      clock_now_(clock ? std::move(clock) : KvClock([] { return std::chrono::steady_clock::now(); })) {
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

void KvBlockLedger::free_block_locked(KvBlockId id, bool remove_file) {
  Block& b = blocks_[id];
  if (b.hash) {
    if (const auto it = by_hash_.find(*b.hash); it != by_hash_.end() && it->second == id) by_hash_.erase(it);
  }
  if (b.in_file) {
    --file_blocks_used_;
    if (remove_file) files_->remove(*b.hash);
  }
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

std::vector<bool> KvBlockLedger::unexpired_blocks_locked() const {
  std::vector<bool> unexpired(blocks_.size(), false);
  const auto now = clock_now_();
  for (const auto& [id, s] : sessions_) {
    if (s.expiry && now >= *s.expiry) continue;
    for (const KvBlockId b : s.blocks) unexpired[b] = true;
  }
  return unexpired;
}

void KvBlockLedger::sort_for_eviction_locked(std::vector<KvBlockId>& candidates) const {
  const std::vector<bool> unexpired = unexpired_blocks_locked();
  std::sort(candidates.begin(), candidates.end(), [&](KvBlockId a, KvBlockId b) {
    const Block& x = blocks_[a];
    const Block& y = blocks_[b];
    return std::tuple(static_cast<bool>(unexpired[a]), x.priority, x.last_use, ~x.position, a) <
           std::tuple(static_cast<bool>(unexpired[b]), y.priority, y.last_use, ~y.position, b);
  });
}

std::optional<KvTier> KvBlockLedger::fastest_tier_locked(KvBlockId id) const {
  const Block& b = blocks_[id];
  if (b.device_slot && !b.draining) return KvTier::device;
  if (b.host_slot) return KvTier::host;
  if (b.in_file) return KvTier::file;
  return std::nullopt;
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
  // The dropped block's file goes too: it failed, or its tier evicted it. Later blocks' files go with it,
  // since no lookup reaches them without it.
  for (auto& [id, s] : sessions_) {
    const auto at = std::find(s.blocks.begin(), s.blocks.end(), dropped);
    if (at == s.blocks.end()) continue;
    const std::size_t index = static_cast<std::size_t>(at - s.blocks.begin());
    for (std::size_t j = index; j < s.blocks.size(); ++j) {
      Block& b = blocks_[s.blocks[j]];
      --b.refs;
      if (!s.suspended) --b.active_refs;
      if (b.refs == 0) free_block_locked(s.blocks[j], true);
    }
    s.blocks.resize(index);
    s.tokens = index * tokens_per_block_;
  }
}

bool KvBlockLedger::is_kept(const Session* keep, KvBlockId id) {
  return keep != nullptr && std::find(keep->blocks.begin(), keep->blocks.end(), id) != keep->blocks.end();
}

bool KvBlockLedger::make_file_room_locked(const Session* keep, std::size_t count) {
  if (files_ == nullptr) return false;
  const auto fits = [&] { return file_blocks_limit_ == 0 || file_blocks_used_ + count <= file_blocks_limit_; };
  if (fits()) return true;
  // The last tier: an unused block whose only copy is its file is dropped, file and all.
  std::vector<KvBlockId> candidates;
  for (KvBlockId id = 0; id < blocks_.size(); ++id) {
    const Block& b = blocks_[id];
    if (b.refs > 0 && b.active_refs == 0 && b.in_file && !b.host_slot && !b.device_slot && !is_kept(keep, id)) {
      candidates.push_back(id);
    }
  }
  sort_for_eviction_locked(candidates);
  for (std::size_t i = 0; i < candidates.size() && !fits(); ++i) {
    if (blocks_[candidates[i]].refs > 0) truncate_sessions_at_locked(candidates[i]);  // else gone with a tail
  }
  return fits();
}

bool KvBlockLedger::make_host_room_locked(std::size_t count, const Session* keep) {
  if (free_host_.size() >= count) return true;
  // First the host copies kept for blocks that active sessions use (on the device): they cost nothing to
  // drop now, only a copy at their next suspend. (The store waits for restore copies still reading them.)
  std::vector<KvBlockId> kept_copies;
  for (KvBlockId id = 0; id < blocks_.size(); ++id) {
    const Block& b = blocks_[id];
    // A suspended holder (a fork's source) needs the host copy, unless the block is in a file too.
    const bool only_active_holders = b.active_refs == b.refs || b.in_file;
    if (b.active_refs > 0 && only_active_holders && b.host_slot && b.device_slot && !b.draining && !is_kept(keep, id)) {
      kept_copies.push_back(id);
    }
  }
  sort_for_eviction_locked(kept_copies);
  for (std::size_t i = 0; i < kept_copies.size() && free_host_.size() < count; ++i) {
    Block& b = blocks_[kept_copies[i]];
    host_owner_[*b.host_slot] = free_slot;
    free_host_.push_back(*b.host_slot);
    b.host_slot.reset();
  }
  if (free_host_.size() >= count) return true;
  const std::size_t shortfall = count - free_host_.size();
  // Host-only copies of unused blocks leave the host tier: each frees at least its own slot.
  std::vector<KvBlockId> candidates;
  for (KvBlockId id = 0; id < blocks_.size(); ++id) {
    const Block& b = blocks_[id];
    if (b.refs > 0 && b.active_refs == 0 && b.host_slot && !b.device_slot && !is_kept(keep, id)) {
      candidates.push_back(id);
    }
  }
  if (candidates.size() < shortfall) return false;
  sort_for_eviction_locked(candidates);
  const std::vector<bool> unexpired = unexpired_blocks_locked();
  // To the file tier go blocks that can be found again (a hash) and are still wanted (not expired); a block
  // already in a file leaves the host without a write. The file tier makes room for them at once (at most
  // one place per slot still to free).
  const auto spillable = [&](KvBlockId id) {
    return files_ != nullptr && blocks_[id].hash && unexpired[id] && !blocks_[id].in_file;
  };
  if (files_ != nullptr) {
    const auto first = candidates.begin() + static_cast<std::ptrdiff_t>(shortfall);
    (void)make_file_room_locked(keep, static_cast<std::size_t>(std::count_if(candidates.begin(), first, spillable)));
  }
  for (std::size_t i = 0; i < candidates.size() && free_host_.size() < count; ++i) {
    const KvBlockId id = candidates[i];
    if (blocks_[id].refs == 0) continue;  // already dropped with an earlier candidate's session tail
    if (spillable(id) && (file_blocks_limit_ == 0 || file_blocks_used_ < file_blocks_limit_)) {
      Block& b = blocks_[id];
      b.in_file = files_->write(*b.hash, *b.host_slot);
      if (b.in_file) ++file_blocks_used_;
    }
    Block& b = blocks_[id];
    if (b.in_file && unexpired[id]) {
      host_owner_[*b.host_slot] = free_slot;
      free_host_.push_back(*b.host_slot);
      b.host_slot.reset();
    } else {
      truncate_sessions_at_locked(id);
    }
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
  if (!make_host_room_locked(needed, &s)) {
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

void KvBlockLedger::discard_device_copies(const KvCopyPlan& plan) {
  std::lock_guard lock(mutex_);
  for (const KvSlotCopy& c : plan.copies) {
    if (c.to != KvTier::device || c.block >= blocks_.size()) continue;
    Block& b = blocks_[c.block];
    if (b.refs == 0 || b.active_refs > 0 || b.device_slot != c.to_slot || b.draining) continue;
    device_owner_[c.to_slot] = free_slot;
    free_device_.push_back(c.to_slot);
    b.device_slot.reset();
  }
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
  return resume_locked(session, s);
}

KvCopyPlan KvBlockLedger::resume_locked(KvSessionId session, Session& s) {
  std::size_t needed = 0;
  std::size_t file_reads = 0;
  for (const KvBlockId id : s.blocks) {
    const Block& b = blocks_[id];
    const bool off_device = !b.device_slot || b.draining;
    needed += off_device ? 1 : 0;
    file_reads += off_device && !b.host_slot ? 1 : 0;
  }
  if (!make_device_room_locked(needed, &s)) {
    throw_error(ErrorCode::out_of_budget,
                fmt::format("KV cache: resume of session {} needs {} device blocks; {} are free and no unused "
                            "block can be evicted",
                            session, needed, free_device_.size()));
  }
  if (!make_host_room_locked(file_reads, &s)) {
    throw_error(ErrorCode::out_of_budget,
                fmt::format("KV cache: resume of session {} reads {} blocks from files through the host tier; {} "
                            "host blocks are free and no unused host-only block can leave: the host tier is full",
                            session, file_reads, free_host_.size()));
  }
  // File-only blocks come to the host first; one that cannot be read ends the session there (its tokens
  // are no longer cached: never wrong data).
  for (std::size_t i = 0; i < s.blocks.size(); ++i) {
    const KvBlockId id = s.blocks[i];
    if ((blocks_[id].device_slot && !blocks_[id].draining) || blocks_[id].host_slot) continue;
    blocks_[id].host_slot = take_host_slot_locked(id);
    if (!files_->read(*blocks_[id].hash, *blocks_[id].host_slot)) {
      truncate_sessions_at_locked(id);
      break;
    }
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
  drop_locked(session);
}

void KvBlockLedger::drop_locked(KvSessionId session) {
  Session& s = session_locked(session);
  for (const KvBlockId id : s.blocks) {
    Block& b = blocks_[id];
    --b.refs;
    if (!s.suspended) --b.active_refs;
    if (b.refs == 0) free_block_locked(id, false);
  }
  sessions_.erase(session);
}

void KvBlockLedger::register_prefix(KvSessionId session, std::span<const KvBlockHash> hashes) {
  std::lock_guard lock(mutex_);
  const Session& s = session_locked(session);
  const std::size_t full = s.tokens / tokens_per_block_;
  if (hashes.size() > full) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("KV cache: {} block hashes for session {}, which has {} full blocks ({} tokens)",
                            hashes.size(), session, full, s.tokens));
  }
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    const Block& b = blocks_[s.blocks[i]];
    if (b.hash && *b.hash != hashes[i]) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("KV cache: block {} of session {} was registered with other tokens or salt", i, session));
    }
  }
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    blocks_[s.blocks[i]].hash = hashes[i];
    by_hash_.try_emplace(hashes[i], s.blocks[i]);
  }
}

KvPrefixBlocks KvBlockLedger::lookup_prefix(std::span<const KvBlockHash> hashes) const {
  std::lock_guard lock(mutex_);
  KvPrefixBlocks found;
  for (const KvBlockHash h : hashes) {
    if (const auto it = by_hash_.find(h); it != by_hash_.end()) {
      const std::optional<KvTier> tier = fastest_tier_locked(it->second);
      if (!tier) break;
      found.tiers.push_back(*tier);
    } else if (files_ != nullptr && files_->contains(h)) {
      found.tiers.push_back(KvTier::file);
    } else {
      break;
    }
  }
  return found;
}

KvPrefixSession KvBlockLedger::create_from_prefix(std::span<const KvBlockHash> hashes, int priority) {
  std::lock_guard lock(mutex_);
  const KvSessionId id = next_session_++;
  Session& s = sessions_[id];
  s.priority = priority;
  s.suspended = true;  // holds references, no active ones, until resume_locked brings it onto the device
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    KvBlockId bid = 0;
    if (const auto it = by_hash_.find(hashes[i]); it != by_hash_.end() && fastest_tier_locked(it->second)) {
      bid = it->second;
    } else if (files_ != nullptr && files_->contains(hashes[i]) && make_file_room_locked(&s, 1)) {
      bid = new_block_locked();
      Block& b = blocks_[bid];
      b.tokens = tokens_per_block_;
      b.position = i;
      b.hash = hashes[i];
      b.in_file = true;
      ++file_blocks_used_;
      by_hash_.try_emplace(hashes[i], bid);
    } else {
      break;
    }
    ++blocks_[bid].refs;
    s.blocks.push_back(bid);
    s.tokens += tokens_per_block_;
  }
  KvPrefixSession result;
  result.session = id;
  try {
    result.copies = resume_locked(id, s);
  } catch (...) {
    drop_locked(id);
    throw;
  }
  result.cached_tokens = s.tokens;
  return result;
}

void KvBlockLedger::set_expiry(KvSessionId session, std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::lock_guard lock(mutex_);
  session_locked(session).expiry = deadline;
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
  u.file_blocks_used = file_blocks_used_;
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
      } else if (!b.host_slot && !b.in_file) {
        fail(fmt::format("block {} of suspended session {} has neither a host copy nor a file", bid, id));
      }
    }
  }
  std::size_t in_files = 0;
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
    if (b.in_file && !b.hash) fail(fmt::format("block {} is in a file but has no hash", id));
    if (b.refs > 0 && b.hash && b.tokens != tokens_per_block_)
      fail(fmt::format("block {} has a hash but is not full", id));
    if (b.in_file) ++in_files;
  }
  if (in_files != file_blocks_used_)
    fail(fmt::format("{} blocks are in files, the count says {}", in_files, file_blocks_used_));
  if (file_blocks_limit_ != 0 && file_blocks_used_ > file_blocks_limit_)
    fail(fmt::format("{} blocks in files, over the limit of {}", file_blocks_used_, file_blocks_limit_));
  for (const auto& [hash, id] : by_hash_) {
    if (id >= blocks_.size() || blocks_[id].refs == 0 || blocks_[id].hash != hash)
      fail(fmt::format("hash {:016x} names block {}, which does not hold it", hash, id));
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
