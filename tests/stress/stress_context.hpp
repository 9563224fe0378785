// What the stress threads share: the one Runtime and TransferEngine, the shared tables, the independent
// ledger, the counters, the watchdog's board and the list of problems found.
#pragma once

#include <cuda_runtime_api.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "budget_ledger.hpp"
#include "ghtier/engine/transfer_engine.hpp"
#include "ghtier/runtime/runtime.hpp"
#include "heartbeat_board.hpp"
#include "operation_mix.hpp"
#include "stress_report.hpp"

namespace ghtier::stress {

/// A runtime allocation whose bytes the ledger counts as held: allocated through try_allocate, freed (and
/// uncounted) by release() or the destructor.
class HeldBuffer {
 public:
  HeldBuffer(BudgetLedger& ledger, Buffer buffer, std::uint64_t seed) noexcept
      : ledger_(&ledger), buffer_(std::move(buffer)), seed_(seed) {}
  ~HeldBuffer() { release(); }
  HeldBuffer(HeldBuffer&& other) noexcept = default;
  HeldBuffer& operator=(HeldBuffer&& other) noexcept {
    if (this != &other) {
      release();
      ledger_ = other.ledger_;
      buffer_ = std::move(other.buffer_);
      seed_ = other.seed_;
    }
    return *this;
  }
  HeldBuffer(const HeldBuffer&) = delete;
  HeldBuffer& operator=(const HeldBuffer&) = delete;

  [[nodiscard]] Buffer& buffer() noexcept { return buffer_; }
  [[nodiscard]] unsigned char* data() const noexcept { return static_cast<unsigned char*>(buffer_.data()); }
  [[nodiscard]] std::size_t size() const noexcept { return buffer_.size(); }
  [[nodiscard]] MemoryMode mode() const noexcept { return buffer_.mode(); }
  /// The pattern its bytes hold (kept buffers and shared tables).
  [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }
  /// Frees the memory (ledger: lowered before the free, claim dropped after it).
  void release() noexcept {
    if (buffer_.empty()) return;
    const MemoryMode mode = buffer_.mode();
    const std::size_t bytes = buffer_.size();
    ledger_->begin_free(mode, bytes);
    buffer_.reset();
    ledger_->end_free(mode, bytes);
  }

 private:
  BudgetLedger* ledger_;
  Buffer buffer_;
  std::uint64_t seed_;
};

struct StressContext {
  StressContext(Runtime& r, TransferEngine& e, BudgetLedger& l, HeartbeatBoard& b, MixOptions m,
                std::chrono::nanoseconds hang)
      : runtime(r), engine(e), ledger(l), board(b), mix(std::move(m)), hang_timeout(hang) {}

  Runtime& runtime;
  TransferEngine& engine;
  BudgetLedger& ledger;
  HeartbeatBoard& board;
  const MixOptions mix;
  const std::chrono::nanoseconds hang_timeout;
  /// Read-only tables (filled once with their pattern), by MemoryMode index; empty where none.
  std::array<std::optional<HeldBuffer>, 4> tables;
  StressCounters counters;
  std::atomic<std::uint64_t> submitted{0};  ///< engine requests the test submitted
  std::atomic<bool> stop{false};            ///< set on the first problem: threads end their loops

  /// Records a problem (kept up to 100) and asks every thread to stop.
  void problem(std::string text) {
    std::lock_guard lock(problems_mutex_);
    if (problems_.size() < 100) problems_.push_back(std::move(text));
    stop.store(true);
  }
  [[nodiscard]] std::vector<std::string> problems() const {
    std::lock_guard lock(problems_mutex_);
    return problems_;
  }

 private:
  mutable std::mutex problems_mutex_;
  std::vector<std::string> problems_;
};

/// Allocates `bytes` in `mode` through the ledger: nullopt when the runtime refused with out_of_budget
/// (counted as a refusal); any other error is rethrown after the ledger dropped the claim. With a stream,
/// waits for it so that the host may touch the memory.
[[nodiscard]] std::optional<HeldBuffer> try_allocate(StressContext& context, MemoryMode mode, std::size_t bytes,
                                                     cudaStream_t stream, std::uint64_t seed);

/// One stress thread: draws and runs operations until `deadline` or a problem, then frees what it keeps
/// (verifying each buffer's bytes first). Problems go to context.problem(); it never throws.
void run_stress_thread(StressContext& context, std::size_t index, std::uint64_t seed,
                       std::chrono::steady_clock::time_point deadline) noexcept;

}  // namespace ghtier::stress
