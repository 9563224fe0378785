// The KV block ledger (src/workloads/kv_cache/kv_block_ledger) through random operation sequences: create,
// append, suspend (its device slots released later, as the store does once the copies are done, or the
// suspend taken back), resume, fork, drop, prefix registration and lookup, sessions from a prefix, expiry,
// with a file tier that may refuse. Any sequence: every call returns or refuses with a ghtier::Error, and
// after every call the ledger's own check_invariants() holds and the session's token count is as expected.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_check.hpp"
#include "workloads/kv_cache/kv_block_ledger.hpp"

namespace {

using namespace ghtier;
using namespace ghtier::detail;

/// Block files as a set of hashes; the fuzzer decides which reads and writes fail.
class FakeFiles final : public KvFileIo {
 public:
  explicit FakeFiles(FuzzedDataProvider& in) : in_(in) {}
  bool write(KvBlockHash hash, std::size_t) override {
    if (in_.ConsumeIntegralInRange(0, 7) == 0) return false;
    stored_.insert(hash);
    return true;
  }
  bool read(KvBlockHash hash, std::size_t) override {
    return stored_.count(hash) > 0 && in_.ConsumeIntegralInRange(0, 7) != 0;
  }
  bool contains(KvBlockHash hash) override { return stored_.count(hash) > 0; }
  void remove(KvBlockHash hash) override { stored_.erase(hash); }

 private:
  FuzzedDataProvider& in_;
  std::set<KvBlockHash> stored_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::size_t tokens_per_block = in.ConsumeIntegralInRange<std::size_t>(0, 8);
  const std::size_t device_slots = in.ConsumeIntegralInRange<std::size_t>(0, 12);
  const std::size_t host_slots = in.ConsumeIntegralInRange<std::size_t>(0, 12);
  FakeFiles files(in);
  const bool with_files = in.ConsumeBool();
  const std::size_t file_blocks = in.ConsumeIntegralInRange<std::size_t>(0, 6);
  auto now = std::chrono::steady_clock::time_point{};
  std::optional<KvBlockLedger> ledger;
  if (!fuzz::returns_or_refuses([&] {
        ledger.emplace(tokens_per_block, device_slots, host_slots, with_files ? &files : nullptr, file_blocks,
                       [&now] { return now; });
      })) {
    return 0;
  }
  std::vector<KvSessionId> sessions;
  std::vector<std::vector<std::size_t>> draining;  // suspends whose copies are "in flight"
  auto any_session = [&]() -> KvSessionId {
    if (sessions.empty() || in.ConsumeIntegralInRange(0, 9) == 0) return in.ConsumeIntegral<KvSessionId>();
    return sessions[in.ConsumeIntegralInRange<std::size_t>(0, sessions.size() - 1)];
  };
  auto any_hashes = [&] {
    std::vector<KvBlockHash> hashes(in.ConsumeIntegralInRange<std::size_t>(0, 6));
    for (KvBlockHash& h : hashes) h = in.ConsumeIntegralInRange<KvBlockHash>(1, 12);  // few: they meet
    return hashes;
  };
  for (int step = 0; step < 200 && in.remaining_bytes() > 0; ++step) {
    switch (in.ConsumeIntegralInRange(0, 11)) {
      case 0:
        fuzz::returns_or_refuses([&] { sessions.push_back(ledger->create(in.ConsumeIntegralInRange(-2, 2))); });
        break;
      case 1: {
        const KvSessionId s = any_session();
        const std::size_t n = in.ConsumeIntegralInRange<std::size_t>(0, 3 * tokens_per_block + 1);
        std::size_t before = 0;
        const bool known = fuzz::returns_or_refuses([&] { before = ledger->tokens(s); });
        if (fuzz::returns_or_refuses([&] { (void)ledger->append(s, n); })) {
          fuzz::check(known && ledger->tokens(s) == before + n, "append did not add its tokens");
          fuzz::check(ledger->block_table(s).size() == (before + n + tokens_per_block - 1) / tokens_per_block,
                      "a block table without one slot per block");
        } else if (known) {
          fuzz::check(ledger->tokens(s) == before, "a refused append changed the session");
        }
        break;
      }
      case 2: {
        const KvSessionId s = any_session();
        KvCopyPlan plan;
        if (!fuzz::returns_or_refuses([&] { plan = ledger->suspend(s); })) break;
        fuzz::check(ledger->suspended(s), "a suspended session is not suspended");
        if (in.ConsumeIntegralInRange(0, 3) == 0) {
          fuzz::returns_or_refuses([&] { ledger->undo_suspend(s, plan); });  // the engine refused the copies
        } else {
          draining.push_back(plan.device_slots_to_release);
        }
        break;
      }
      case 3:
        if (!draining.empty()) {
          const std::size_t i = in.ConsumeIntegralInRange<std::size_t>(0, draining.size() - 1);
          fuzz::returns_or_refuses([&] { ledger->release_device_slots(draining[i]); });
          draining.erase(draining.begin() + static_cast<std::ptrdiff_t>(i));
        }
        break;
      case 4: {
        const KvSessionId s = any_session();
        if (fuzz::returns_or_refuses([&] { (void)ledger->resume(s); })) {
          fuzz::check(!ledger->suspended(s), "a resumed session is still suspended");
        }
        break;
      }
      case 5: fuzz::returns_or_refuses([&] { sessions.push_back(ledger->fork(any_session())); }); break;
      case 6: {
        const KvSessionId s = any_session();
        if (fuzz::returns_or_refuses([&] { ledger->drop(s); })) {
          std::erase(sessions, s);
          fuzz::check(!fuzz::returns_or_refuses([&] { (void)ledger->tokens(s); }), "a dropped session still counts");
        }
        break;
      }
      case 7: {
        const KvSessionId s = any_session();
        const auto hashes = any_hashes();
        fuzz::returns_or_refuses([&] { ledger->register_prefix(s, hashes); });
        break;
      }
      case 8: {
        const auto hashes = any_hashes();
        KvPrefixBlocks found;
        if (fuzz::returns_or_refuses([&] { found = ledger->lookup_prefix(hashes); })) {
          fuzz::check(found.tiers.size() <= hashes.size(), "a prefix lookup found more blocks than asked for");
        }
        break;
      }
      case 9: {
        const auto hashes = any_hashes();
        KvPrefixSession made;
        if (fuzz::returns_or_refuses(
                [&] { made = ledger->create_from_prefix(hashes, in.ConsumeIntegralInRange(-2, 2)); })) {
          sessions.push_back(made.session);
          fuzz::check(made.cached_tokens == ledger->tokens(made.session) &&
                          made.cached_tokens <= hashes.size() * tokens_per_block,
                      "a session from a prefix holds other tokens than it adopted");
        }
        break;
      }
      case 10: {
        const KvSessionId s = any_session();
        const std::optional<std::chrono::steady_clock::time_point> deadline =
            in.ConsumeBool() ? std::nullopt
                             : std::optional(now + std::chrono::seconds(in.ConsumeIntegralInRange(-5, 5)));
        fuzz::returns_or_refuses([&] { ledger->set_expiry(s, deadline); });
        break;
      }
      default: now += std::chrono::seconds(in.ConsumeIntegralInRange(0, 3)); break;
    }
    fuzz::returns_or_refuses([&] { ledger->check_invariants(); });
    const KvTierUsage usage = ledger->usage();
    fuzz::check(usage.device_slots_used <= device_slots, "more device slots in use than the pool has");
    fuzz::check(usage.device_slots_draining <= usage.device_slots_used, "draining slots that are not in use");
    fuzz::check(usage.host_slots_used <= host_slots, "more host slots in use than the pool has");
    if (with_files && file_blocks > 0)
      fuzz::check(usage.file_blocks_used <= file_blocks, "more block files than allowed");
  }
  return 0;
}
