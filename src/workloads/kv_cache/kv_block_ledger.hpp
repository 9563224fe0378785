// The KV store's accounting, apart from its bytes: which logical block each session holds, which device
// and host slot each block occupies, reference counts of forked prefixes, and which blocks pressure evicts.
// Every operation returns the copies that the store must carry out; the ledger itself moves no byte, so it
// is tested on the CPU (invariants after every step, 16 threads at once). Thread-safe: one mutex. Prefix
// reuse (blocks found by their chained hash) and the file tier (blocks spilled to and read from block files
// through KvFileIo) are decided here too.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "ghtier/workloads/kv_block_hash.hpp"
#include "ghtier/workloads/kv_cache_plan.hpp"

namespace ghtier::detail {

using KvSessionId = std::uint64_t;
using KvBlockId = std::uint32_t;

/// One block's bytes to move: from a slot of one tier to a slot of another (device to device: a fork's
/// partly filled block copied on write).
struct KvSlotCopy {
  KvBlockId block = 0;
  KvTier from = KvTier::device;
  std::size_t from_slot = 0;
  KvTier to = KvTier::device;
  std::size_t to_slot = 0;
};

/// The copies of one operation, to be done in one batch before the operation's result is used.
struct KvCopyPlan {
  std::vector<KvSlotCopy> copies;
  /// Device slots that become free once `copies` are done (suspend): the store passes them to
  /// release_device_slots() after the batch completes; until then no allocation reuses them.
  std::vector<std::size_t> device_slots_to_release;
};

/// The file tier as the ledger drives it: the store's block files, a fake in tests. Called with the ledger's
/// lock held, synchronously; the host slot's bytes are what is written or read. Implementations log why an
/// operation failed and return false; they never throw.
class KvFileIo {
 public:
  virtual ~KvFileIo() = default;
  /// Writes host slot `host_slot` as the block file of `hash`.
  virtual bool write(KvBlockHash hash, std::size_t host_slot) = 0;
  /// Reads the block file of `hash` into host slot `host_slot`; false when it is missing or corrupt.
  virtual bool read(KvBlockHash hash, std::size_t host_slot) = 0;
  /// Whether a block file of `hash` exists (its contents are checked only when read).
  virtual bool contains(KvBlockHash hash) = 0;
  /// Deletes the block file of `hash`, if any.
  virtual void remove(KvBlockHash hash) = 0;
};

/// Where a prefix's blocks are (prefix lookup): the leading blocks found, each in its fastest tier.
struct KvPrefixBlocks {
  std::vector<KvTier> tiers;
};

using KvClock = std::function<std::chrono::steady_clock::time_point()>;

/// The result of append().
struct KvAppendResult {
  std::vector<KvBlockId> new_blocks;  ///< blocks added at the session's end
  KvCopyPlan copies;                  ///< copy-on-write of a shared partly filled last block
};

/// Counts of one tier (for the tier byte counts: slots x block bytes).
struct KvTierUsage {
  std::size_t device_slots_used = 0;
  std::size_t host_slots_used = 0;
  std::size_t device_slots_draining = 0;  ///< freed by a suspend whose copies are not yet released
  std::size_t file_blocks_used = 0;       ///< blocks of this ledger that have a block file
};

/// The result of create_from_prefix().
struct KvPrefixSession {
  KvSessionId session = 0;
  std::size_t cached_tokens = 0;  ///< leading tokens adopted (whole blocks)
  KvCopyPlan copies;              ///< host -> device copies of adopted blocks that were not on the device
};

class KvBlockLedger {
 public:
  /// `files`: the file tier (nullptr: none), which must outlive the ledger; `file_blocks`: the most blocks
  /// this ledger keeps in files (0: no limit). `clock`: the time that expiry compares against (default: the
  /// steady clock). Throws Error(invalid_argument) for tokens_per_block 0 or no device slot.
  KvBlockLedger(std::size_t tokens_per_block, std::size_t device_slots, std::size_t host_slots,
                KvFileIo* files = nullptr, std::size_t file_blocks = 0, KvClock clock = {});

  /// A new, empty, active session. `priority`: higher is evicted later.
  KvSessionId create(int priority = 0);
  /// Adds n_tokens at the session's end: fills its last block, then new blocks (device slots, evicting
  /// the least recently used blocks of suspended sessions that have a host copy). Throws
  /// Error(not_found) for an unknown session, Error(invalid_argument) for a suspended one or n_tokens 0,
  /// Error(out_of_budget) when the device pool cannot hold the blocks (nothing is changed then).
  KvAppendResult append(KvSessionId session, std::size_t n_tokens);
  /// The device slot of each of the session's blocks, in order. Throws Error(not_found) / Error(invalid_argument)
  /// for an unknown or a suspended session.
  [[nodiscard]] std::vector<std::size_t> block_table(KvSessionId session) const;
  /// Copies every block without a host copy to a host slot and marks the session suspended; device slots
  /// of blocks that no active session uses are released after the copies. Host pressure evicts the least
  /// recently used host copies of other suspended sessions' blocks that are not on the device: to a block
  /// file when the block has a hash and the file tier has room, else dropped (those sessions lose the block
  /// and every block after it). Throws Error(out_of_budget) when the host pool
  /// cannot take the blocks (nothing is changed then), Error(invalid_argument) when already suspended.
  KvCopyPlan suspend(KvSessionId session);
  /// Brings every block back to a device slot (copies from the host; the host copies are kept) and marks
  /// the session active. Throws Error(out_of_budget) when the device pool cannot take them (nothing is
  /// changed then), Error(invalid_argument) when the session is active.
  KvCopyPlan resume(KvSessionId session);
  /// A new session that shares every block of `session` (same state); a shared partly filled block is
  /// copied when either appends to it.
  KvSessionId fork(KvSessionId session);
  /// Forgets the session; blocks no other session holds free their slots (their block files are kept: they
  /// are the prefix cache that later sessions and other processes find).
  void drop(KvSessionId session);

  /// Registers the chained hashes of the session's leading full blocks (hashes[i]: block i), so that
  /// lookup_prefix and create_from_prefix find them, and so that host pressure can spill them to files.
  /// A hash already held by another block keeps pointing at that one. Throws Error(not_found),
  /// Error(invalid_argument) for more hashes than full blocks or a block registered with another hash.
  void register_prefix(KvSessionId session, std::span<const KvBlockHash> hashes);
  /// The leading blocks of `hashes` that are stored (by a session of this ledger, or as a block file), each
  /// in its fastest tier; stops at the first block that is not.
  [[nodiscard]] KvPrefixBlocks lookup_prefix(std::span<const KvBlockHash> hashes) const;
  /// A new active session holding the stored leading blocks of `hashes`: blocks of other sessions are shared
  /// (copy on write does not arise: they are full), blocks found only as files are read into host slots,
  /// and blocks not on the device get device slots and host -> device copies. A block file that cannot be
  /// read (missing, corrupt) ends the prefix there (logged by the KvFileIo). Throws Error(out_of_budget)
  /// when the device or host pool cannot take the blocks (no session is created then).
  KvPrefixSession create_from_prefix(std::span<const KvBlockHash> hashes, int priority = 0);
  /// From `deadline` on, the session's blocks that no active session uses are evicted first and dropped
  /// rather than spilled to a slower tier; nullopt: never. Throws Error(not_found).
  void set_expiry(KvSessionId session, std::optional<std::chrono::steady_clock::time_point> deadline);
  /// Takes back a suspend whose copies were never queued (the engine refused them): the session is active
  /// again, on the device blocks it had, and the host slots the plan took are free.
  void undo_suspend(KvSessionId session, const KvCopyPlan& plan);
  /// Takes back the device copies of a plan whose copies were never queued, after the session that it
  /// brought onto the device was dropped: those blocks (now unused) leave the device again, so that no one
  /// reads a slot that was never written.
  void discard_device_copies(const KvCopyPlan& plan);
  /// After a suspend's copies are done: the slots it named become free.
  void release_device_slots(const std::vector<std::size_t>& slots);

  [[nodiscard]] std::size_t tokens(KvSessionId session) const;
  [[nodiscard]] bool suspended(KvSessionId session) const;
  [[nodiscard]] KvTierUsage usage() const;
  [[nodiscard]] std::size_t session_count() const;
  [[nodiscard]] std::size_t tokens_per_block() const noexcept { return tokens_per_block_; }

  /// Checks every invariant (each slot free or owned by exactly one block, reference counts equal to the
  /// sessions' references, active sessions wholly on the device, suspended ones wholly on the host,
  /// device or in files, token counts, the hash index, the file count); throws Error(internal) describing the first
  /// broken one.
  void check_invariants() const;

 private:
  struct Block {
    std::uint32_t refs = 0;         // sessions holding it
    std::uint32_t active_refs = 0;  // active sessions holding it: while > 0 it is never evicted
    std::size_t tokens = 0;
    std::optional<std::size_t> device_slot;
    std::optional<std::size_t> host_slot;
    bool draining = false;  // its device slot waits for release_device_slots
    std::uint64_t last_use = 0;
    int priority = 0;
    std::size_t position = 0;  // index in its sessions: on ties the later blocks go first (a prefix stays usable)
    std::optional<KvBlockHash> hash;  // registered chained hash (full blocks only)
    bool in_file = false;             // a block file of `hash` holds its bytes
  };
  struct Session {
    std::vector<KvBlockId> blocks;
    std::size_t tokens = 0;
    bool suspended = false;
    int priority = 0;
    std::optional<std::chrono::steady_clock::time_point> expiry;
  };

  Session& session_locked(KvSessionId id);
  const Session& session_locked(KvSessionId id) const;
  KvBlockId new_block_locked();
  /// `remove_file`: the block's file goes too (eviction from the last tier, a corrupt file); else it stays.
  void free_block_locked(KvBlockId id, bool remove_file);
  void drop_locked(KvSessionId session);
  static bool is_kept(const Session* keep, KvBlockId id);
  void touch_locked(const Session& s);
  /// Frees `count` device slots by evicting unused blocks that have a host copy, except the blocks of
  /// `keep` (a session being resumed); false if it cannot (then nothing was evicted).
  bool make_device_room_locked(std::size_t count, const Session* keep = nullptr);
  /// Frees `count` host slots from unused host-only blocks (except those of `keep`): spilled to a block file
  /// when they have a hash, the file tier has room and they have not expired; else dropped (truncating
  /// their sessions).
  bool make_host_room_locked(std::size_t count, const Session* keep = nullptr);
  /// Makes room for `count` more blocks in the file tier (when it is bounded) by dropping the least valuable
  /// unused file-only blocks (except those of `keep`); false if there is no file tier or not enough can go.
  bool make_file_room_locked(const Session* keep, std::size_t count);
  /// The common part of resume and create_from_prefix: every block of `s` onto the device.
  KvCopyPlan resume_locked(KvSessionId id, Session& s);
  /// Blocks that an unexpired session holds (the others count as expired for eviction).
  std::vector<bool> unexpired_blocks_locked() const;
  void truncate_sessions_at_locked(KvBlockId dropped);
  std::size_t take_device_slot_locked(KvBlockId owner);
  std::size_t take_host_slot_locked(KvBlockId owner);
  /// Eviction order: expired first, then lowest priority, then least recently used, then the furthest from
  /// the session's start.
  void sort_for_eviction_locked(std::vector<KvBlockId>& candidates) const;
  [[nodiscard]] std::optional<KvTier> fastest_tier_locked(KvBlockId id) const;

  mutable std::mutex mutex_;
  std::size_t tokens_per_block_;
  std::vector<std::size_t> free_device_;
  std::vector<std::size_t> free_host_;
  // Owner block of each slot: free_slot, or (device only) orphan_draining when its block was dropped while
  // the suspend's copy still ran: the slot is free once release_device_slots names it.
  static constexpr std::int64_t free_slot = -1;
  static constexpr std::int64_t orphan_draining = -2;
  std::vector<std::int64_t> device_owner_;
  std::vector<std::int64_t> host_owner_;
  std::vector<Block> blocks_;
  std::vector<KvBlockId> free_block_ids_;
  std::unordered_map<KvSessionId, Session> sessions_;
  std::unordered_map<KvBlockHash, KvBlockId> by_hash_;
  KvFileIo* files_;
  std::size_t file_blocks_limit_;
  std::size_t file_blocks_used_ = 0;
  KvClock clock_now_;
  KvSessionId next_session_ = 1;
  std::uint64_t clock_ = 0;
};

}  // namespace ghtier::detail
