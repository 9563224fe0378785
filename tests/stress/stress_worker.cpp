// One stress thread: each operation allocates what it needs through the ledger (a budget refusal skips the
// operation and is counted), fills its sources with its own pattern, poisons its destinations, moves the
// bytes through the shared engine, runtime or gather kernel, waits with a time limit, and compares every byte.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "byte_pattern.hpp"
#include "ghtier/error.hpp"
#include "ghtier/kernels/gather.hpp"
#include "stress_context.hpp"

namespace ghtier::stress {

namespace {

constexpr unsigned char poison = 0xA5;

void check_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess) throw std::runtime_error(fmt::format("{}: {}", call, cudaGetErrorString(status)));
}
#define STRESS_CUDA(call) check_cuda((call), #call)

/// A non-blocking stream of the thread's own (no implicit synchronisation with the other threads).
class ThreadStream {
 public:
  ThreadStream() { STRESS_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~ThreadStream() { (void)cudaStreamDestroy(stream_); }
  ThreadStream(const ThreadStream&) = delete;
  ThreadStream& operator=(const ThreadStream&) = delete;
  [[nodiscard]] cudaStream_t get() const noexcept { return stream_; }
  void sync() const { STRESS_CUDA(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

/// Host access to memory of any mode: device memory through a copy on the thread's stream, the others in place
/// (the thread has waited for its own work on them first).
void write_pattern(void* p, MemoryMode mode, std::size_t bytes, std::uint64_t seed, std::size_t offset,
                   const ThreadStream& stream) {
  if (mode != MemoryMode::device) {
    fill_pattern(p, bytes, seed, offset);
    return;
  }
  std::vector<unsigned char> host(bytes);
  fill_pattern(host.data(), bytes, seed, offset);
  STRESS_CUDA(cudaMemcpyAsync(p, host.data(), bytes, cudaMemcpyHostToDevice, stream.get()));
  stream.sync();
}

void write_bytes(void* p, MemoryMode mode, const void* src, std::size_t bytes, const ThreadStream& stream) {
  if (mode != MemoryMode::device) {
    std::memcpy(p, src, bytes);
    return;
  }
  STRESS_CUDA(cudaMemcpyAsync(p, src, bytes, cudaMemcpyHostToDevice, stream.get()));
  stream.sync();
}

void fill_poison(void* p, MemoryMode mode, std::size_t bytes, const ThreadStream& stream) {
  if (mode != MemoryMode::device) {
    std::memset(p, poison, bytes);
    return;
  }
  STRESS_CUDA(cudaMemsetAsync(p, poison, bytes, stream.get()));
  stream.sync();
}

std::vector<unsigned char> read_bytes(const void* p, MemoryMode mode, std::size_t bytes, const ThreadStream& stream) {
  std::vector<unsigned char> host(bytes);
  if (mode != MemoryMode::device) {
    std::memcpy(host.data(), p, bytes);
  } else {
    STRESS_CUDA(cudaMemcpyAsync(host.data(), p, bytes, cudaMemcpyDeviceToHost, stream.get()));
    stream.sync();
  }
  return host;
}

/// Whether `error` is the refusal the test expects: ghtier's out_of_budget, as its type and its code.
bool is_budget_refusal(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const OutOfBudgetError& e) {
    return e.code() == ErrorCode::out_of_budget;
  } catch (...) {
    return false;
  }
}

class Worker {
 public:
  Worker(StressContext& context, std::size_t index, std::uint64_t seed)
      : c_(context), index_(index), rng_(seed), mix_(context.mix, seed ^ 0x5bd1e995u) {}

  void run(std::chrono::steady_clock::time_point deadline) {
    while (!c_.stop.load() && std::chrono::steady_clock::now() < deadline) {
      const PlannedOp op = mix_.next(held_.size());
      current_ = describe(op);
      c_.board.beat(index_, current_, HeartbeatBoard::Clock::now());
      try {
        carry_out(op);
      } catch (const Error& e) {
        c_.problem(
            fmt::format("thread {}: {}: unexpected {} error: {}", index_, current_, to_string(e.code()), e.what()));
      } catch (const std::exception& e) {
        c_.problem(fmt::format("thread {}: {}: {}", index_, current_, e.what()));
      }
    }
    // Give back what is kept, each buffer's bytes checked first (nothing else may have written into them).
    c_.board.beat(index_, "freeing kept buffers", HeartbeatBoard::Clock::now());
    try {
      for (HeldBuffer& h : held_) verify_pattern(h, "kept buffer at the end");
    } catch (const std::exception& e) {
      c_.problem(fmt::format("thread {}: reading kept buffers: {}", index_, e.what()));
    }
    held_.clear();
    stream_.sync();
    c_.board.finish(index_);
  }

 private:
  void carry_out(const PlannedOp& op) {
    switch (op.kind) {
      case StressOp::allocate: return allocate(op);
      case StressOp::free: return free(op);
      case StressOp::copy: return copy(op);
      case StressOp::batch: return batch(op);
      case StressOp::prefetch: return prefetch(op);
      case StressOp::relocate: return relocate(op);
      case StressOp::gather: return gather_rows(op);
    }
  }

  std::optional<HeldBuffer> get(MemoryMode mode, std::size_t bytes, bool use_stream, std::uint64_t seed = 0) {
    return try_allocate(c_, mode, bytes, use_stream ? stream_.get() : nullptr, seed);
  }

  void mismatch(std::string_view what, std::size_t at, unsigned char got, unsigned char expected) {
    c_.problem(fmt::format("thread {}: {}: {} byte {} is {:#04x}, expected {:#04x}", index_, current_, what, at, got,
                           expected));
  }

  /// Compares `bytes` of host data with the pattern (seed, offset); false (and a problem) on a difference.
  bool expect_pattern(const unsigned char* data, std::size_t bytes, std::uint64_t seed, std::size_t offset,
                      std::string_view what) {
    if (const auto at = first_pattern_mismatch(data, bytes, seed, offset)) {
      mismatch(what, *at, data[*at], pattern_byte(seed, offset + *at));
      return false;
    }
    return true;
  }
  bool expect_poison(const unsigned char* data, std::size_t bytes, std::string_view what) {
    if (const auto at = first_byte_not(data, bytes, poison)) {
      mismatch(what, *at, data[*at], poison);
      return false;
    }
    return true;
  }
  void verify_pattern(HeldBuffer& h, std::string_view what) {
    const auto bytes = read_bytes(h.data(), h.mode(), h.size(), stream_);
    expect_pattern(bytes.data(), bytes.size(), h.seed(), 0, what);
  }

  /// Waits for an engine request with the hang limit; a problem unless it completed.
  bool expect_completed(const CompletionToken& token) {
    const TransferStatus status = token.wait_for(c_.hang_timeout);
    if (status == TransferStatus::completed) return true;
    if (status == TransferStatus::pending) {
      c_.problem(fmt::format("thread {}: {}: not completed within {:.0f} s (a hang)", index_, current_,
                             std::chrono::duration<double>(c_.hang_timeout).count()));
      // The request may still write into memory this thread would free: keep the process from going on.
      std::fprintf(stderr, "stress: %s: hang, aborting\n", current_.c_str());
      std::fflush(stderr);
      std::_Exit(3);
    }
    const auto error = token.error();
    c_.problem(fmt::format("thread {}: {}: request {}: {}", index_, current_, to_string(status),
                           error ? error->what() : "(no error recorded)"));
    return false;
  }

  void allocate(const PlannedOp& op) {
    auto h = get(op.from, op.bytes, op.use_stream, op.seed);
    if (!h) return c_.counters.refused(op.kind);
    write_pattern(h->data(), h->mode(), h->size(), op.seed, 0, stream_);
    held_.push_back(std::move(*h));
    c_.counters.done(op.kind, op.bytes);
  }

  void free(const PlannedOp& op) {
    HeldBuffer h = std::move(held_.at(op.held_index));
    held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(op.held_index));
    verify_pattern(h, "kept buffer before its free");
    const std::size_t bytes = h.size();
    h.release();
    c_.counters.done(op.kind, bytes);
  }

  void copy(const PlannedOp& op) {
    // Source: a fresh buffer with this operation's pattern, or a slice of the shared table of that tier.
    std::optional<HeldBuffer> own_src;
    const unsigned char* src = nullptr;
    std::size_t n = op.bytes;
    std::uint64_t seed = op.seed;
    std::size_t src_offset = 0;
    if (op.from_shared && c_.tables[index_of(op.from)]) {
      const HeldBuffer& table = *c_.tables[index_of(op.from)];
      n = std::min(n, table.size());
      src_offset = rng_() % (table.size() - n + 1);
      src = table.data() + src_offset;
      seed = table.seed();
    } else {
      own_src = get(op.from, n, op.use_stream);
      if (!own_src) return c_.counters.refused(op.kind);
      write_pattern(own_src->data(), own_src->mode(), n, seed, 0, stream_);
      src = own_src->data();
    }
    // Destination with poison guards on both sides; an odd offset now and then.
    const std::size_t lead = rng_() % 61;
    const std::size_t trail = 1 + rng_() % 37;
    auto dst = get(op.to, lead + n + trail, op.use_stream);
    if (!dst) return c_.counters.refused(op.kind);
    fill_poison(dst->data(), dst->mode(), dst->size(), stream_);
    CopyRequest request;
    request.dst = dst->data() + lead;
    request.src = src;
    request.bytes = n;
    request.priority = op.urgent ? TransferPriority::urgent : TransferPriority::background;
    CompletionToken token = c_.engine.submit(request);
    c_.submitted.fetch_add(1);
    if (!expect_completed(token)) return;
    const auto out = read_bytes(dst->data(), dst->mode(), dst->size(), stream_);
    if (expect_poison(out.data(), lead, "guard before the copy") &&
        expect_pattern(out.data() + lead, n, seed, src_offset, "copied") &&
        expect_poison(out.data() + lead + n, trail, "guard after the copy")) {
      c_.counters.done(op.kind, n);
    }
  }

  void batch(const PlannedOp& op) {
    auto src = get(op.from, op.bytes, op.use_stream);
    if (!src) return c_.counters.refused(op.kind);
    auto dst = get(op.to, op.bytes, op.use_stream);
    if (!dst) return c_.counters.refused(op.kind);
    write_pattern(src->data(), src->mode(), op.bytes, op.seed, 0, stream_);
    fill_poison(dst->data(), dst->mode(), op.bytes, stream_);
    // Equal pieces, destinations permuted; the remainder of the destination stays poisoned.
    const std::size_t piece = op.bytes / op.items;
    std::vector<std::size_t> to(op.items);
    std::iota(to.begin(), to.end(), std::size_t{0});
    std::shuffle(to.begin(), to.end(), rng_);
    BatchCopyRequest request;
    for (std::size_t j = 0; j < op.items; ++j) {
      request.items.push_back({dst->data() + to[j] * piece, src->data() + j * piece, piece});
    }
    if (rng_() % 2 == 0) {  // the caller-known modes hint, half of the time
      request.src_mode = op.from;
      request.dst_mode = op.to;
    }
    request.priority = op.urgent ? TransferPriority::urgent : TransferPriority::background;
    CompletionToken token = c_.engine.submit(request);
    c_.submitted.fetch_add(1);
    if (!expect_completed(token)) return;
    const auto out = read_bytes(dst->data(), dst->mode(), op.bytes, stream_);
    for (std::size_t j = 0; j < op.items; ++j) {
      if (!expect_pattern(out.data() + to[j] * piece, piece, op.seed, j * piece, fmt::format("item {}", j))) return;
    }
    if (expect_poison(out.data() + op.items * piece, op.bytes - op.items * piece, "remainder after the items")) {
      c_.counters.done(op.kind, op.items * piece);
    }
  }

  void prefetch(const PlannedOp& op) {
    auto h = get(op.from, op.bytes, op.use_stream, op.seed);
    if (!h) return c_.counters.refused(op.kind);
    write_pattern(h->data(), h->mode(), op.bytes, op.seed, 0, stream_);
    if (op.via_engine) {
      for (PrefetchTarget target : {PrefetchTarget::device, PrefetchTarget::host}) {
        PrefetchRequest request;
        request.ptr = h->data();
        request.bytes = op.bytes;
        request.target = target;
        request.advice.accessed_by_device = (rng_() % 2) == 0;
        request.priority = op.urgent ? TransferPriority::urgent : TransferPriority::background;
        CompletionToken token = c_.engine.submit(request);
        c_.submitted.fetch_add(1);
        if (!expect_completed(token)) return;
      }
      // The shared table of this tier is pointer-stable and read by others meanwhile: move a slice of it too.
      if (const auto& table = c_.tables[index_of(op.from)]; table && rng_() % 2 == 0) {
        const std::size_t n = std::min(op.bytes, table->size());
        PrefetchRequest request;
        request.ptr = table->data() + rng_() % (table->size() - n + 1);
        request.bytes = n;
        request.target = rng_() % 2 == 0 ? PrefetchTarget::device : PrefetchTarget::host;
        CompletionToken token = c_.engine.submit(request);
        c_.submitted.fetch_add(1);
        if (!expect_completed(token)) return;
      }
    } else {
      c_.runtime.prefetch(h->buffer(), Location::device, stream_.get());
      c_.runtime.prefetch(h->buffer(), Location::host, stream_.get());
      stream_.sync();
    }
    const auto out = read_bytes(h->data(), h->mode(), op.bytes, stream_);
    if (expect_pattern(out.data(), op.bytes, op.seed, 0, "prefetched")) c_.counters.done(op.kind, op.bytes);
  }

  void relocate(const PlannedOp& op) {
    HeldBuffer& h = held_.at(op.held_index);
    MemoryMode target = op.to;
    if (target == h.mode()) {  // to another tier: the next one of the list
      const auto& modes = c_.mix.modes;
      const auto at = std::find(modes.begin(), modes.end(), target) - modes.begin();
      target = modes[static_cast<std::size_t>(at + 1) % modes.size()];
    }
    const MemoryMode from = h.mode();
    const std::size_t bytes = h.size();
    const cudaStream_t stream = op.use_stream ? stream_.get() : nullptr;
    // The new allocation is claimed before the call; the old one stops counting as held before the call (it
    // is freed inside) and its claim ends once the call has returned.
    const auto attempt = c_.ledger.begin_allocation(target, bytes);
    c_.ledger.begin_free(from, bytes);
    Buffer moved;
    try {
      moved = c_.runtime.relocate_to(std::move(h.buffer()), target, stream);
    } catch (...) {
      // relocate_to promises that the buffer is untouched when it throws: it still counts as held.
      c_.ledger.cancel_free(from, bytes);
      const bool refused = is_budget_refusal(std::current_exception());
      if (refused) {
        c_.ledger.allocation_refused(attempt);
      } else {
        c_.ledger.allocation_failed(attempt);
      }
      if (h.buffer().empty()) {
        c_.problem(fmt::format("thread {}: {}: relocate_to threw, yet the buffer was taken", index_, current_));
      }
      if (!refused) throw;
      return c_.counters.refused(op.kind);
    }
    c_.ledger.allocation_succeeded(attempt);
    c_.ledger.end_free(from, bytes);
    h.buffer() = std::move(moved);
    if (stream != nullptr) stream_.sync();
    if (h.mode() != target) {
      c_.problem(fmt::format("thread {}: {}: the buffer is in {} afterwards", index_, current_, to_string(h.mode())));
      return;
    }
    const auto out = read_bytes(h.data(), h.mode(), bytes, stream_);
    if (expect_pattern(out.data(), bytes, h.seed(), 0, "relocated")) c_.counters.done(op.kind, bytes);
  }

  void gather_rows(const PlannedOp& op) {
    const HeldBuffer& table = *c_.tables.at(index_of(op.from));
    const std::size_t row_bytes = op.items;
    const std::size_t num_rows = table.size() / row_bytes;
    const std::size_t count = op.bytes / row_bytes;
    const bool wide = (op.seed & 1) != 0;
    std::vector<std::int64_t> idx64(count);
    std::uniform_int_distribution<std::int64_t> row(0, static_cast<std::int64_t>(num_rows) - 1);
    for (auto& i : idx64) i = row(rng_);
    std::vector<std::int32_t> idx32(idx64.begin(), idx64.end());
    const std::size_t index_bytes = count * (wide ? sizeof(std::int64_t) : sizeof(std::int32_t));
    auto indices = get(MemoryMode::device, index_bytes, op.use_stream);
    if (!indices) return c_.counters.refused(op.kind);
    auto out = get(op.to, op.bytes, op.use_stream);
    if (!out) return c_.counters.refused(op.kind);
    write_bytes(indices->data(), MemoryMode::device, wide ? static_cast<const void*>(idx64.data()) : idx32.data(),
                index_bytes, stream_);
    fill_poison(out->data(), out->mode(), op.bytes, stream_);
    if (wide) {
      gather(table.data(), row_bytes, num_rows, reinterpret_cast<const std::int64_t*>(indices->data()), count,
             out->data(), stream_.get());
    } else {
      gather(table.data(), row_bytes, num_rows, reinterpret_cast<const std::int32_t*>(indices->data()), count,
             out->data(), stream_.get());
    }
    stream_.sync();
    const auto got = read_bytes(out->data(), out->mode(), op.bytes, stream_);
    for (std::size_t i = 0; i < count; ++i) {
      const auto r = static_cast<std::size_t>(idx64[i]);
      if (!expect_pattern(got.data() + i * row_bytes, row_bytes, table.seed(), r * row_bytes,
                          fmt::format("row {} (table row {})", i, r))) {
        return;
      }
    }
    c_.counters.done(op.kind, op.bytes);
  }

  StressContext& c_;
  std::size_t index_;
  std::mt19937_64 rng_;
  OperationMix mix_;
  ThreadStream stream_;  // declared before held_: kept buffers are freed before it goes
  std::vector<HeldBuffer> held_;
  std::string current_;
};

}  // namespace

std::optional<HeldBuffer> try_allocate(StressContext& context, MemoryMode mode, std::size_t bytes, cudaStream_t stream,
                                       std::uint64_t seed) {
  const auto attempt = context.ledger.begin_allocation(mode, bytes);
  Buffer buffer;
  try {
    buffer = context.runtime.allocate_in(mode, bytes, stream, "stress");
  } catch (...) {
    if (is_budget_refusal(std::current_exception())) {
      context.ledger.allocation_refused(attempt);
      return std::nullopt;
    }
    context.ledger.allocation_failed(attempt);
    throw;
  }
  context.ledger.allocation_succeeded(attempt);
  if (stream != nullptr) STRESS_CUDA(cudaStreamSynchronize(stream));  // stream-ordered: ready for the host
  return HeldBuffer(context.ledger, std::move(buffer), seed);
}

void run_stress_thread(StressContext& context, std::size_t index, std::uint64_t seed,
                       std::chrono::steady_clock::time_point deadline) noexcept {
  try {
    Worker worker(context, index, seed);
    worker.run(deadline);
  } catch (const std::exception& e) {
    context.problem(fmt::format("thread {}: {}", index, e.what()));
    context.board.finish(index);
  }
}

}  // namespace ghtier::stress
