// KvCacheStore: the ledger decides, the engine moves. Suspend copies are background batches whose device
// slots return to the ledger once their token is ready (checked at every call, or waited for when a resume
// or a full pool needs them); resume and copy-on-write copies are urgent batches that the caller's stream
// waits for. Block files are read and written on the host, through the host pool, inside ledger calls:
// before any call that may do so (or reuse a host slot), the copies still reading or writing host slots are
// waited for (suspend copies: drains; restore copies: the fence stream, which waits on every restore).
#include "ghtier/workloads/kv_cache.hpp"

#include <deque>
#include <limits>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "core/support/cuda_check.hpp"
#include "engine/device_guard.hpp"
#include "ghtier/error.hpp"
#include "workloads/kv_cache/kv_block_ledger.hpp"
#include "workloads/kv_cache/kv_file_tier.hpp"

namespace ghtier {

namespace {

std::size_t pool_bytes(std::size_t blocks, std::size_t block_bytes, std::string_view what) {
  if (blocks != 0 && block_bytes > std::numeric_limits<std::size_t>::max() / blocks) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("KV cache: the {} pool of {} blocks of {} bytes overflows", what, blocks, block_bytes));
  }
  return blocks * block_bytes;
}

std::optional<detail::KvFileTier> make_file_tier(const KvCacheOptions& o, std::size_t block_bytes) {
  if (o.file_directory.empty()) return std::nullopt;
  if (o.host_blocks == 0) {
    throw_error(ErrorCode::invalid_argument,
                "KV cache: a file tier needs a host tier (host_blocks is 0): block files are read and written "
                "through the host pool");
  }
  return std::optional<detail::KvFileTier>(std::in_place, o.file_directory, block_bytes);
}

}  // namespace

struct KvCacheStore::Impl final : detail::KvFileIo {
  struct Drain {
    CompletionToken token;
    std::vector<std::size_t> slots;
  };

  Impl(Runtime& r, TransferEngine& e, const KvCacheOptions& o)
      : engine(e),
        options(o),
        block_bytes((o.shape.validate(), o.shape.block_bytes())),
        files(make_file_tier(o, block_bytes)),
        ledger(o.shape.tokens_per_block, o.device_blocks, o.host_blocks, files ? this : nullptr, o.file_blocks) {
    if (e.device() != r.device()) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("KV cache: the engine serves device {}, the runtime device {}", e.device(), r.device()));
    }
    if (o.device_blocks > std::numeric_limits<std::uint32_t>::max()) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("KV cache: {} device blocks: block indices are 32-bit", o.device_blocks));
    }
    device_pool = r.allocate_in(MemoryMode::device, pool_bytes(o.device_blocks, block_bytes, "device"), nullptr,
                                "KV cache device pool");
    if (o.host_blocks > 0) {
      host_pool = r.allocate_in(MemoryMode::pinned_host, pool_bytes(o.host_blocks, block_bytes, "host"), nullptr,
                                "KV cache host pool");
    }
  }

  ~Impl() override {
    if (fence != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(fence));
  }

  // The file tier, as the ledger drives it (under the ledger's lock, with the store's mutex held).
  bool write(KvBlockHash hash, std::size_t host_slot) override {
    const bool ok = files->write(hash, address(KvTier::host, host_slot));
    if (ok) file_written_bytes += block_bytes;
    return ok;
  }
  bool read(KvBlockHash hash, std::size_t host_slot) override {
    const bool ok = files->read(hash, address(KvTier::host, host_slot));
    if (ok) file_read_bytes += block_bytes;
    return ok;
  }
  bool contains(KvBlockHash hash) override { return files->contains(hash); }
  void remove(KvBlockHash hash) override { files->remove(hash); }

  // Makes the fence stream wait for a restore's copies (one token per batch).
  void fence_after_locked(const CompletionToken& token) {
    if (!token.valid()) return;
    if (fence == nullptr) {
      detail::DeviceGuard guard(engine.device());
      GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&fence, cudaStreamNonBlocking));
    }
    token.make_stream_wait(fence);
  }
  // Before a host slot may be written or reused: every suspend and restore copy still touching one is done.
  void settle_host_locked() {
    reap_locked(true);
    if (fence != nullptr) GHTIER_CUDA_CHECK(cudaStreamSynchronize(fence));
  }

  unsigned char* address(KvTier tier, std::size_t slot) const {
    auto* base = static_cast<unsigned char*>(tier == KvTier::device ? device_pool.data() : host_pool.data());
    return base + slot * block_bytes;
  }

  // Submits the plan's copies as one batch; an empty plan gives an empty token.
  CompletionToken submit_locked(const detail::KvCopyPlan& plan, TransferPriority priority, cudaStream_t stream) {
    if (plan.copies.empty()) return {};
    BatchCopyRequest request;
    request.items.reserve(plan.copies.size());
    for (const detail::KvSlotCopy& c : plan.copies) {
      request.items.push_back({address(c.to, c.to_slot), address(c.from, c.from_slot), block_bytes});
    }
    const detail::KvSlotCopy& first = plan.copies.front();
    request.src_mode = first.from == KvTier::device ? MemoryMode::device : MemoryMode::pinned_host;
    request.dst_mode = first.to == KvTier::device ? MemoryMode::device : MemoryMode::pinned_host;
    request.priority = priority;
    request.wait_on.streams.push_back(stream);
    return engine.submit(request);
  }

  // Returns the device slots of finished suspend copies to the ledger; with `wait`, waits for every one.
  // A failed copy is reported (its host blocks hold no valid data), after its slots are returned.
  void reap_locked(bool wait) {
    std::optional<Error> failure;
    while (!drains.empty()) {
      Drain& d = drains.front();
      if (d.token.valid()) {
        if (!wait && !d.token.ready()) break;
        const TransferStatus status = d.token.wait();
        if (status != TransferStatus::completed && !failure) {
          failure = d.token.error().value_or(
              Error(ErrorCode::cuda_error, fmt::format("KV cache: a suspend copy ended {}", to_string(status))));
        }
      }
      ledger.release_device_slots(d.slots);
      drains.pop_front();
    }
    if (failure) throw_error(*failure);
  }

  // Takes back a resume whose copies could not all be queued: waits for those that were, then suspends the
  // session again (its host copies are intact, so that copies nothing) and frees its device blocks.
  void undo_resume_locked(KvSessionId session, std::vector<CompletionToken>& queued) {
    for (auto& t : queued) {
      if (t.valid()) (void)t.wait();
    }
    const detail::KvCopyPlan back = ledger.suspend(session);
    if (!back.copies.empty()) throw_error(ErrorCode::internal, "KV cache: undo of a resume needed a copy");
    ledger.release_device_slots(back.device_slots_to_release);
  }

  // Runs `op`; when the pool is too full while suspend copies still run, waits for them and tries again.
  template <class Op>
  auto with_room_locked(Op op) {
    try {
      return op();
    } catch (const OutOfBudgetError&) {
      if (drains.empty()) throw;
      reap_locked(true);
      return op();
    }
  }

  TransferEngine& engine;
  KvCacheOptions options;
  std::size_t block_bytes;
  std::optional<detail::KvFileTier> files;
  detail::KvBlockLedger ledger;
  cudaStream_t fence = nullptr;  // waits on every restore batch: synchronising it settles them all
  std::uint64_t file_written_bytes = 0;
  std::uint64_t file_read_bytes = 0;
  Buffer device_pool;
  Buffer host_pool;
  std::deque<Drain> drains;
  std::uint64_t suspended_bytes = 0;
  std::uint64_t restored_bytes = 0;
  mutable std::mutex mutex;
};

void KvCacheStore::validate(const KvCacheOptions& options) {
  options.shape.validate();
  if (options.device_blocks == 0) throw_error(ErrorCode::invalid_argument, "KV cache: device_blocks is 0");
  (void)make_file_tier(options, options.shape.block_bytes());
}

KvCacheStore::KvCacheStore(Runtime& runtime, TransferEngine& engine, const KvCacheOptions& options)
    : impl_(std::make_unique<Impl>(runtime, engine, options)) {}

KvCacheStore::~KvCacheStore() {
  std::lock_guard lock(impl_->mutex);
  for (auto& d : impl_->drains) {
    if (d.token.valid()) (void)d.token.wait();
  }
  // Restores still writing the device pool finish before it is freed.
  if (impl_->fence != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaStreamSynchronize(impl_->fence));
}

KvSessionId KvCacheStore::create(int priority) { return impl_->ledger.create(priority); }

std::vector<std::uint32_t> KvCacheStore::append(KvSessionId session, std::size_t n_tokens, cudaStream_t stream) {
  std::lock_guard lock(impl_->mutex);
  impl_->reap_locked(false);
  const detail::KvAppendResult r = impl_->with_room_locked([&] { return impl_->ledger.append(session, n_tokens); });
  CompletionToken copy = impl_->submit_locked(r.copies, TransferPriority::urgent, stream);
  if (copy.valid()) copy.make_stream_wait(stream);
  std::vector<std::uint32_t> added;
  const std::vector<std::size_t> table = impl_->ledger.block_table(session);
  for (std::size_t i = table.size() - r.new_blocks.size(); i < table.size(); ++i) {
    added.push_back(static_cast<std::uint32_t>(table[i]));
  }
  return added;
}

std::vector<std::uint32_t> KvCacheStore::block_table(KvSessionId session) const {
  const std::vector<std::size_t> table = impl_->ledger.block_table(session);
  return {table.begin(), table.end()};
}

void KvCacheStore::suspend(KvSessionId session, cudaStream_t stream) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->options.host_blocks == 0) {
    throw_error(ErrorCode::invalid_argument, "KV cache: suspend needs a host tier (host_blocks is 0)");
  }
  // Earlier suspend copies finish first: host pressure may drop (and reuse) host blocks, which must not be
  // blocks a copy still writes, or spill them to files. (Serialises suspend copies; per-block tracking would
  // let them overlap.) Restores still reading host copies that pressure may drop finish too.
  impl_->settle_host_locked();
  detail::KvCopyPlan plan = impl_->ledger.suspend(session);
  CompletionToken token;
  try {
    token = impl_->submit_locked(plan, TransferPriority::background, stream);
  } catch (...) {
    impl_->ledger.undo_suspend(session, plan);  // nothing was queued: the session stays on the device
    throw;
  }
  impl_->suspended_bytes += plan.copies.size() * impl_->block_bytes;
  // A copied block that a fork still uses stays on the device, where eviction (which needs no copy for a
  // block with a host copy) could reuse its slot: such a copy must be done before this call returns.
  const bool shared = plan.copies.size() > plan.device_slots_to_release.size();
  if (shared && token.valid() && token.wait() != TransferStatus::completed) {
    const std::optional<Error> error = token.error();
    impl_->ledger.release_device_slots(plan.device_slots_to_release);
    throw_error(error.value_or(Error(ErrorCode::cuda_error, "KV cache: a suspend copy did not complete")));
  }
  impl_->drains.push_back({std::move(token), std::move(plan.device_slots_to_release)});
}

void KvCacheStore::resume(KvSessionId session, cudaStream_t stream) {
  std::lock_guard lock(impl_->mutex);
  // A block copied out by a suspend that still runs is read back from the host: that copy must finish first
  // (and file reads may reuse host slots that earlier restores still read).
  impl_->settle_host_locked();
  const detail::KvCopyPlan plan = impl_->with_room_locked([&] { return impl_->ledger.resume(session); });
  CompletionToken token;
  try {
    token = impl_->submit_locked(plan, TransferPriority::urgent, stream);
    impl_->fence_after_locked(token);
  } catch (...) {
    std::vector<CompletionToken> none;
    if (token.valid()) none.push_back(std::move(token));
    impl_->undo_resume_locked(session, none);
    throw;
  }
  impl_->restored_bytes += plan.copies.size() * impl_->block_bytes;
  if (token.valid()) token.make_stream_wait(stream);
}

std::vector<CompletionToken> KvCacheStore::resume_by_layer(KvSessionId session, cudaStream_t stream) {
  std::lock_guard lock(impl_->mutex);
  impl_->settle_host_locked();
  const detail::KvCopyPlan plan = impl_->with_room_locked([&] { return impl_->ledger.resume(session); });
  const KvBlockShape& shape = impl_->options.shape;
  const std::size_t piece = shape.layer_block_bytes();
  std::vector<CompletionToken> tokens(shape.layers);
  if (plan.copies.empty()) return tokens;
  const auto layer_request = [&](std::size_t layer) {
    BatchCopyRequest request;
    request.items.reserve(plan.copies.size());
    for (const detail::KvSlotCopy& c : plan.copies) {
      request.items.push_back({impl_->address(c.to, c.to_slot) + layer * piece,
                               impl_->address(c.from, c.from_slot) + layer * piece, piece});
    }
    request.src_mode = MemoryMode::pinned_host;
    request.dst_mode = MemoryMode::device;
    request.priority = TransferPriority::urgent;
    request.wait_on.streams.push_back(stream);
    return request;
  };
  try {
    for (std::size_t layer = 0; layer < shape.layers; ++layer) {
      tokens[layer] = impl_->engine.submit(layer_request(layer));
    }
    for (const CompletionToken& t : tokens) impl_->fence_after_locked(t);
  } catch (...) {
    impl_->undo_resume_locked(session, tokens);
    throw;
  }
  impl_->restored_bytes += plan.copies.size() * impl_->block_bytes;
  return tokens;
}

KvSessionId KvCacheStore::fork(KvSessionId session) {
  std::lock_guard lock(impl_->mutex);
  return impl_->ledger.fork(session);
}

void KvCacheStore::drop(KvSessionId session) {
  std::lock_guard lock(impl_->mutex);
  // A suspend copy may still write the host blocks that this frees, a restore the device blocks.
  impl_->settle_host_locked();
  impl_->ledger.drop(session);
}

void KvCacheStore::register_prefix(KvSessionId session, std::span<const std::int32_t> tokens, std::string_view salt) {
  const std::size_t held = impl_->ledger.tokens(session);
  if (tokens.size() > held) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("KV cache: register_prefix of {} tokens for session {}, which holds {}", tokens.size(),
                            session, held));
  }
  impl_->ledger.register_prefix(session, kv_prefix_hashes(tokens, impl_->options.shape.tokens_per_block, salt));
}

KvPrefixLookup KvCacheStore::lookup_prefix(std::span<const std::int32_t> tokens, std::string_view salt) const {
  const std::size_t tpb = impl_->options.shape.tokens_per_block;
  KvPrefixLookup result;
  result.tiers = impl_->ledger.lookup_prefix(kv_prefix_hashes(tokens, tpb, salt)).tiers;
  result.cached_tokens = result.tiers.size() * tpb;
  return result;
}

KvPrefixSession KvCacheStore::create_from_prefix(std::span<const std::int32_t> tokens, std::string_view salt,
                                                 int priority, cudaStream_t stream) {
  const std::vector<KvBlockHash> hashes = kv_prefix_hashes(tokens, impl_->options.shape.tokens_per_block, salt);
  std::lock_guard lock(impl_->mutex);
  // Adopted blocks may still be on their way to the host (a suspend copy), and file reads reuse host slots.
  impl_->settle_host_locked();
  const detail::KvPrefixSession r =
      impl_->with_room_locked([&] { return impl_->ledger.create_from_prefix(hashes, priority); });
  CompletionToken token;
  try {
    token = impl_->submit_locked(r.copies, TransferPriority::urgent, stream);
    impl_->fence_after_locked(token);
    if (token.valid()) token.make_stream_wait(stream);
  } catch (...) {
    if (token.valid()) (void)token.wait();
    impl_->ledger.drop(r.session);
    impl_->ledger.discard_device_copies(r.copies);
    throw;
  }
  impl_->restored_bytes += r.copies.copies.size() * impl_->block_bytes;
  return {r.session, r.cached_tokens};
}

void KvCacheStore::set_expiry(KvSessionId session, std::optional<std::chrono::nanoseconds> ttl) {
  if (ttl && ttl->count() < 0) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("KV cache: expiry of session {} in {} ns: negative", session, ttl->count()));
  }
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (ttl) {
    const auto now = std::chrono::steady_clock::now();
    // Saturates: a ttl past the clock's range means never.
    if (*ttl < std::chrono::steady_clock::time_point::max() - now) deadline = now + *ttl;
  }
  impl_->ledger.set_expiry(session, deadline);
}

std::size_t KvCacheStore::tokens(KvSessionId session) const { return impl_->ledger.tokens(session); }

bool KvCacheStore::suspended(KvSessionId session) const { return impl_->ledger.suspended(session); }

void* KvCacheStore::device_pool() const noexcept { return impl_->device_pool.data(); }

const KvBlockShape& KvCacheStore::shape() const noexcept { return impl_->options.shape; }

KvCacheStatistics KvCacheStore::statistics() const {
  std::lock_guard lock(impl_->mutex);
  const detail::KvTierUsage u = impl_->ledger.usage();
  KvCacheStatistics s;
  s.block_bytes = impl_->block_bytes;
  s.device_blocks = impl_->options.device_blocks;
  s.host_blocks = impl_->options.host_blocks;
  s.device_blocks_used = u.device_slots_used;
  s.host_blocks_used = u.host_slots_used;
  s.sessions = impl_->ledger.session_count();
  s.suspended_bytes = impl_->suspended_bytes;
  s.restored_bytes = impl_->restored_bytes;
  s.file_blocks_used = u.file_blocks_used;
  s.file_written_bytes = impl_->file_written_bytes;
  s.file_read_bytes = impl_->file_read_bytes;
  return s;
}

KvResumePlan KvCacheStore::plan_resume(KvSessionId session, const LinkModel& link,
                                       double prefill_tokens_per_second) const {
  KvResumeRequest r;
  r.shape = impl_->options.shape;
  r.context_tokens = impl_->ledger.tokens(session);
  r.cached_tokens = r.context_tokens;
  r.tier = impl_->ledger.suspended(session) ? KvTier::host : KvTier::device;
  r.link = link;
  r.prefill_tokens_per_second = prefill_tokens_per_second;
  return plan_kv_resume(r);
}

}  // namespace ghtier
