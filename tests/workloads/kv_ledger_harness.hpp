// The KV block ledger tests' reference (kv_block_ledger_test, kv_prefix_ledger_test): fake device and host
// memories (one token value per token place of a slot; a planned copy moves a slot's values whole), optional
// fake block files shared by several ledgers, each session's expected tokens, and a harness that drives a
// ledger, applies every copy it plans and checks that an active session reads back exactly its tokens.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <span>
#include <string_view>
#include <vector>

#include "ghtier/workloads/kv_block_hash.hpp"
#include "workloads/kv_cache/kv_block_ledger.hpp"

namespace ghtier::test {

/// What a slot holds before anything is written, and once released.
inline constexpr std::int32_t kv_poison = -7;
/// The model name the prefix tests hash their tokens with.
inline constexpr std::string_view kv_test_salt = "test-model";

/// Block files shared by every ledger of a test (the directory that two processes share).
struct FakeKvFileStore {
  std::mutex mutex;
  std::map<KvBlockHash, std::vector<std::int32_t>> files;
  std::set<KvBlockHash> corrupt;  // reads of these fail, as a bad checksum would
  std::size_t writes = 0;
};

/// One ledger's device and host memories, and its view of the file store (none: a ledger without files).
class FakeKvTiers final : public detail::KvFileIo {
 public:
  FakeKvTiers(std::size_t tokens_per_block, std::size_t device_slots, std::size_t host_slots,
              FakeKvFileStore* files = nullptr)
      : device(device_slots, std::vector<std::int32_t>(tokens_per_block, kv_poison)),
        host(host_slots, std::vector<std::int32_t>(tokens_per_block, kv_poison)),
        files_(files) {}

  void apply(const detail::KvCopyPlan& plan) {
    for (const detail::KvSlotCopy& c : plan.copies) tier(c.to)[c.to_slot] = tier(c.from)[c.from_slot];
  }
  std::vector<std::vector<std::int32_t>>& tier(KvTier t) { return t == KvTier::device ? device : host; }
  [[nodiscard]] bool has_files() const noexcept { return files_ != nullptr; }

  bool write(KvBlockHash hash, std::size_t host_slot) override {
    std::lock_guard lock(files_->mutex);
    files_->files[hash] = host.at(host_slot);
    files_->corrupt.erase(hash);
    ++files_->writes;
    return true;
  }
  bool read(KvBlockHash hash, std::size_t host_slot) override {
    std::lock_guard lock(files_->mutex);
    const auto it = files_->files.find(hash);
    if (it == files_->files.end() || files_->corrupt.count(hash)) return false;
    host.at(host_slot) = it->second;
    return true;
  }
  bool contains(KvBlockHash hash) override {
    std::lock_guard lock(files_->mutex);
    return files_->files.count(hash) > 0;
  }
  void remove(KvBlockHash hash) override {
    std::lock_guard lock(files_->mutex);
    files_->files.erase(hash);
  }

  std::vector<std::vector<std::int32_t>> device, host;

 private:
  FakeKvFileStore* files_;
};

/// One session as the test expects it.
struct KvExpectedSession {
  std::vector<std::int32_t> tokens;  // the token values written so far (the prefix tests: token ids)
  bool suspended = false;
  std::vector<std::size_t> draining;  // a suspend's device slots not yet released
  std::size_t doc = 0;                // the prefix tests: the document its tokens come from
  bool diverged = false;              // ... until it diverges
};

/// `n` random token values.
inline std::vector<std::int32_t> random_token_ids(std::size_t n, std::mt19937_64& rng) {
  std::vector<std::int32_t> ids(n);
  for (auto& v : ids) v = static_cast<std::int32_t>(rng() % 50000);
  return ids;
}

/// Drives one ledger over fake memories. Each call holds `ops` across the ledger call and the copies it
/// plans, as the store holds its mutex across the ledger call and the queuing of the copies: otherwise
/// another thread could be handed a slot (a host copy dropped under pressure, say) before this thread's
/// planned copy has read it.
class KvLedgerHarness {
 public:
  KvLedgerHarness(std::size_t tokens_per_block, std::size_t device_slots, std::size_t host_slots,
                  FakeKvFileStore* files = nullptr, std::size_t file_blocks = 0, detail::KvClock clock = {})
      : tpb(tokens_per_block),
        fake(tokens_per_block, device_slots, host_slots, files),
        ledger(tokens_per_block, device_slots, host_slots, fake.has_files() ? &fake : nullptr, file_blocks,
               std::move(clock)) {}

  void append(detail::KvSessionId id, KvExpectedSession& e, std::span<const std::int32_t> ids) {
    std::lock_guard lock(ops);
    const detail::KvAppendResult r = ledger.append(id, ids.size());
    fake.apply(r.copies);
    const auto table = ledger.block_table(id);
    for (const std::int32_t v : ids) {
      const std::size_t t = e.tokens.size();
      fake.device[table.at(t / tpb)][t % tpb] = v;
      e.tokens.push_back(v);
    }
  }
  void register_prefix(detail::KvSessionId id, const KvExpectedSession& e) {
    ledger.register_prefix(id, kv_prefix_hashes(e.tokens, tpb, kv_test_salt));
  }
  void suspend(detail::KvSessionId id, KvExpectedSession& e, bool release_now) {
    std::lock_guard lock(ops);
    const detail::KvCopyPlan plan = ledger.suspend(id);
    fake.apply(plan);
    e.suspended = true;
    // Appended: slots of an earlier suspend that a resume overtook are still to be released.
    e.draining.insert(e.draining.end(), plan.device_slots_to_release.begin(), plan.device_slots_to_release.end());
    if (release_now) release_locked(e);
  }
  void release(KvExpectedSession& e) {
    std::lock_guard lock(ops);
    release_locked(e);
  }
  void resume(detail::KvSessionId id, KvExpectedSession& e) {
    std::lock_guard lock(ops);
    fake.apply(ledger.resume(id));
    e.suspended = false;
    sync_tokens(id, e);
  }
  /// A session adopting the stored prefix of ids; returns it with its expected contents.
  std::pair<detail::KvSessionId, KvExpectedSession> from_prefix(std::span<const std::int32_t> ids, std::size_t doc,
                                                                int priority = 0) {
    std::lock_guard lock(ops);
    const detail::KvPrefixSession r = ledger.create_from_prefix(kv_prefix_hashes(ids, tpb, kv_test_salt), priority);
    fake.apply(r.copies);
    EXPECT_EQ(r.cached_tokens % tpb, 0u);
    EXPECT_LE(r.cached_tokens, ids.size());
    KvExpectedSession e;
    e.tokens.assign(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(r.cached_tokens));
    e.doc = doc;
    return {r.session, e};
  }
  /// The session's contents read through its block table equal the expected tokens. A suspended session may
  /// lose whole trailing blocks (eviction, a bad file): its expected tokens are cut to match; nothing else.
  void verify(detail::KvSessionId id, KvExpectedSession& e) {
    std::lock_guard lock(ops);
    if (e.suspended) {
      ASSERT_NO_FATAL_FAILURE(sync_tokens(id, e));
      return;
    }
    ASSERT_EQ(ledger.tokens(id), e.tokens.size()) << "an active session lost tokens";
    const auto table = ledger.block_table(id);
    for (std::size_t t = 0; t < e.tokens.size(); ++t) {
      ASSERT_EQ(fake.device[table[t / tpb]][t % tpb], e.tokens[t]) << "session " << id << " token " << t;
    }
  }

  std::size_t tpb;
  FakeKvTiers fake;
  detail::KvBlockLedger ledger;
  std::mutex ops;

 private:
  void sync_tokens(detail::KvSessionId id, KvExpectedSession& e) {
    const std::size_t tokens = ledger.tokens(id);
    ASSERT_LE(tokens, e.tokens.size());
    if (tokens < e.tokens.size()) {
      ASSERT_EQ(tokens % tpb, 0u);
    }
    e.tokens.resize(tokens);
  }
  void release_locked(KvExpectedSession& e) {
    // Poison first: once released, a slot's bytes belong to whoever takes it next.
    for (const std::size_t slot : e.draining) std::fill(fake.device[slot].begin(), fake.device[slot].end(), kv_poison);
    ledger.release_device_slots(e.draining);
    e.draining.clear();
  }
};

}  // namespace ghtier::test
