// Fault sweeps on the GPU: every counted CUDA call (allocation, copy, event, stream) of representative operations
// fails in turn (N = 1, 2, ... until the operation makes fewer calls), with out of memory and with a plain CUDA
// error. For each N: the operation completes correctly or fails with an error naming the failed call (a token
// reports failed), nothing hangs, the runtime's statistics are back where they were (no leaked byte), an
// allocation made before the sweep keeps its bytes, and the same object works afterwards.
// Operations: Runtime::allocate_in in each mode (synchronous and stream-ordered), Runtime::allocate through the
// spill policy, relocate_to between tiers (synchronous, stream-ordered, from another stream), the transfer
// engine's copy (copy engine and staged through pinned buffers), batch (both mechanisms) and prefetch, and the
// gather kernel.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/support/fault_injector.hpp"
#include "fault_sweep.hpp"
#include "ghtier/engine/transfer_engine.hpp"
#include "ghtier/kernels/gather.hpp"
#include "ghtier/policy/spill_policy.hpp"
#include "ghtier/runtime/runtime.hpp"
#include "test_support.hpp"

using namespace ghtier;
using namespace ghtier::test;

namespace {

constexpr std::size_t KiB = 1024;
constexpr std::size_t MiB = KiB * KiB;
constexpr auto no_hang = std::chrono::seconds(60);

class FaultSweep : public ::testing::Test {
 protected:
  void SetUp() override {
    GHTIER_REQUIRE_GPU();
    if (detail::armed_fault_plan()) GTEST_SKIP() << "a plan from GHTIER_FAULT_INJECT is armed";
    rng_ = fresh_rng();
    runtime_ = std::make_unique<Runtime>();
    sentinel_.emplace(*runtime_, MemoryMode::device, MiB + 17, rng_);
    SWEEP_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    SWEEP_CUDA(cudaStreamCreateWithFlags(&other_stream_, cudaStreamNonBlocking));
  }
  void TearDown() override {
    detail::disarm_fault_injection();
    if (runtime_) {
      EXPECT_TRUE(sentinel_->intact()) << "the allocation made before the sweep lost its bytes";
      sentinel_.reset();
      (void)cudaDeviceSynchronize();
    }
    if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
    if (other_stream_ != nullptr) (void)cudaStreamDestroy(other_stream_);
  }

  // The checks after every attempt: statistics as before, the sentinel intact.
  void expect_undisturbed(const RuntimeSnapshot& before, const std::string& what, std::uint64_t n) {
    SWEEP_CUDA(cudaDeviceSynchronize());
    const RuntimeSnapshot now = RuntimeSnapshot::of(*runtime_);
    EXPECT_EQ(now, before) << what << ", N=" << n << ": before " << describe(before) << ", now " << describe(now);
    EXPECT_TRUE(sentinel_->intact()) << what << ", N=" << n << ": the sentinel allocation was disturbed";
  }

  std::mt19937_64 rng_;
  std::unique_ptr<Runtime> runtime_;
  std::optional<Sentinel> sentinel_;
  cudaStream_t stream_ = nullptr;
  cudaStream_t other_stream_ = nullptr;
};

// Allocates, writes and reads back: the allocation is usable. Frees it (stream-ordered when it has a stream).
void use_once(Runtime& runtime, MemoryMode mode, std::size_t bytes, cudaStream_t stream, std::mt19937_64& rng) {
  Buffer b = runtime.allocate_in(mode, bytes, stream);
  ASSERT_EQ(b.mode(), mode);
  if (stream != nullptr) SWEEP_CUDA(cudaStreamSynchronize(stream));
  const auto bytes_in = random_bytes(rng, bytes);
  put_bytes(b.data(), bytes_in, mode);
  EXPECT_EQ(get_bytes(b.data(), bytes, mode), bytes_in);
}

TEST_F(FaultSweep, RuntimeAllocateInEachMode) {
  const std::size_t bytes = 3 * MiB + 123;
  for (MemoryMode mode : all_memory_modes) {
    if (!runtime_->has_mode(mode)) {
      std::printf("[ skipped  ] %s: this runtime has no such resource\n", std::string(to_string(mode)).c_str());
      continue;
    }
    // A pooled mode makes CUDA calls only while its pool grows: after the first sweeps the same allocation
    // comes from the pool without any (the pinned pool on the GPU machine, 2026-12-03). So the mode as a
    // whole, not each sweep, must have made a counted call.
    std::uint64_t mode_calls = 0;
    for (cudaStream_t stream : {cudaStream_t{nullptr}, stream_}) {
      for (cudaError_t error : swept_errors) {
        RuntimeSnapshot before;
        SweptOperation op;
        op.what = fmt::format("allocate_in({}, {})", to_string(mode), stream ? "stream-ordered" : "synchronous");
        op.prepare = [&](std::uint64_t) { before = RuntimeSnapshot::of(*runtime_); };
        op.attempt = [&](std::uint64_t n) {
          try {
            use_once(*runtime_, mode, bytes, stream, rng_);
            return Outcome::completed;
          } catch (const Error& e) {
            expect_names_the_call(e.what(), n);
            return Outcome::failed;
          }
        };
        op.after = [&](std::uint64_t n) {
          expect_undisturbed(before, op.what, n);
          use_once(*runtime_, mode, bytes, stream, rng_);  // the runtime still allocates in this mode
          expect_undisturbed(before, op.what + " (again)", n);
        };
        mode_calls += sweep_calls(op, error);
        if (HasFatalFailure()) return;
      }
    }
    if (mode != MemoryMode::system) {
      EXPECT_GT(mode_calls, 0u) << "allocate_in(" << to_string(mode) << ") made no counted CUDA call in any sweep";
    }
  }
}

TEST_F(FaultSweep, RuntimeAllocateThroughTheSpillPolicy) {
  PlacementRequest request;
  request.bytes = 2 * MiB + 5;
  request.tag = "fault sweep";
  for (cudaError_t error : swept_errors) {
    RuntimeSnapshot before;
    SweptOperation op;
    op.what = "allocate(spill policy, gpu hot)";
    op.prepare = [&](std::uint64_t) { before = RuntimeSnapshot::of(*runtime_); };
    op.attempt = [&](std::uint64_t n) {
      try {
        Buffer b = runtime_->allocate(request);
        // An injected out of memory from the device may land the buffer in the host tier: that is the policy.
        const auto bytes_in = random_bytes(rng_, b.size());
        put_bytes(b.data(), bytes_in, b.mode());
        EXPECT_EQ(get_bytes(b.data(), b.size(), b.mode()), bytes_in) << "N=" << n;
        return Outcome::completed;
      } catch (const Error& e) {
        expect_names_the_call(e.what(), n);
        return Outcome::failed;
      }
    };
    op.after = [&](std::uint64_t n) {
      expect_undisturbed(before, op.what, n);
      Buffer again = runtime_->allocate(request);
      EXPECT_EQ(again.mode(), MemoryMode::device);
    };
    EXPECT_GT(sweep_calls(op, error), 0u);
    if (HasFatalFailure()) return;
  }
}

TEST_F(FaultSweep, RelocateBetweenTiers) {
  const std::size_t bytes = 2 * MiB + 333;
  const std::pair<MemoryMode, MemoryMode> moves[] = {
      {MemoryMode::device, MemoryMode::pinned_host}, {MemoryMode::pinned_host, MemoryMode::device},
      {MemoryMode::device, MemoryMode::managed},     {MemoryMode::managed, MemoryMode::device},
      {MemoryMode::device, MemoryMode::system},      {MemoryMode::system, MemoryMode::device},
  };
  enum class Ordering { synchronous, on_stream, from_another_stream };
  for (const auto& [from, to] : moves) {
    if (!runtime_->has_mode(from) || !runtime_->has_mode(to)) continue;
    for (Ordering ordering : {Ordering::synchronous, Ordering::on_stream, Ordering::from_another_stream}) {
      const cudaStream_t source_stream = ordering == Ordering::from_another_stream ? other_stream_ : nullptr;
      const cudaStream_t move_stream = ordering == Ordering::synchronous ? nullptr : stream_;
      for (cudaError_t error : swept_errors) {
        RuntimeSnapshot before;
        Buffer buffer;
        std::vector<unsigned char> contents;
        void* old_pointer = nullptr;
        SweptOperation op;
        op.what = fmt::format("relocate_to({} -> {}, {})", to_string(from), to_string(to),
                              ordering == Ordering::synchronous ? "synchronous"
                              : ordering == Ordering::on_stream ? "stream-ordered"
                                                                : "stream-ordered, from another stream");
        op.prepare = [&](std::uint64_t) {
          buffer = runtime_->allocate_in(from, bytes, source_stream);
          if (source_stream != nullptr) SWEEP_CUDA(cudaStreamSynchronize(source_stream));
          contents = random_bytes(rng_, bytes);
          put_bytes(buffer.data(), contents, from);
          old_pointer = buffer.data();
          before = RuntimeSnapshot::of(*runtime_);
        };
        op.attempt = [&](std::uint64_t n) {
          try {
            Buffer moved = runtime_->relocate_to(std::move(buffer), to, move_stream);
            if (move_stream != nullptr) SWEEP_CUDA(cudaStreamSynchronize(move_stream));
            EXPECT_EQ(moved.mode(), to);
            EXPECT_EQ(get_bytes(moved.data(), bytes, to), contents) << op.what << ", N=" << n;
            buffer = std::move(moved);
            return Outcome::completed;
          } catch (const Error& e) {
            expect_names_the_call(e.what(), n);
            // The caller still owns the old allocation, bytes and all.
            EXPECT_EQ(buffer.data(), old_pointer) << op.what << ", N=" << n;
            EXPECT_EQ(buffer.mode(), from);
            EXPECT_EQ(get_bytes(buffer.data(), bytes, from), contents) << op.what << ", N=" << n;
            const auto record = runtime_->find(buffer.data());
            EXPECT_TRUE(record && record->base == buffer.data()) << "the runtime lost the old allocation";
            return Outcome::failed;
          }
        };
        op.after = [&](std::uint64_t n) {
          SWEEP_CUDA(cudaDeviceSynchronize());
          const RuntimeSnapshot now = RuntimeSnapshot::of(*runtime_);
          if (buffer.data() == old_pointer) {
            EXPECT_EQ(now, before) << op.what << ", N=" << n << ": " << describe(before) << " -> " << describe(now);
            // The runtime still relocates this buffer.
            buffer = runtime_->relocate_to(std::move(buffer), to, move_stream);
            if (move_stream != nullptr) SWEEP_CUDA(cudaStreamSynchronize(move_stream));
            EXPECT_EQ(get_bytes(buffer.data(), bytes, to), contents) << op.what << " (again)";
          }
          EXPECT_EQ(now.live_allocations, before.live_allocations) << op.what << ", N=" << n;
          buffer = Buffer{};
          EXPECT_TRUE(sentinel_->intact()) << op.what << ", N=" << n;
        };
        EXPECT_GT(sweep_calls(op, error), 0u) << op.what;
        if (HasFatalFailure()) return;
      }
    }
  }
}

// ---- the transfer engine -----------------------------------------------------------------------------------

// Small chunks and staging slots, so that one request makes many calls (several chunks, a ring that wraps).
TransferEngineOptions small_chunks() {
  TransferEngineOptions options;
  options.chunk_bytes = 64 * KiB;
  options.staging_chunk_bytes = 64 * KiB;
  options.staging_slots = 2;
  options.copy_threads = 2;
  return options;
}

// An engine request's end: a submit that threw, or the token's status (a token must end, never hang).
Outcome finish(const std::function<CompletionToken()>& submit, std::uint64_t n, const std::string& what) {
  CompletionToken token;
  try {
    token = submit();
  } catch (const Error& e) {
    expect_names_the_call(e.what(), n);
    return Outcome::failed;
  }
  const TransferStatus status = token.wait_for(no_hang);
  if (status == TransferStatus::pending) {
    ADD_FAILURE() << what << ", N=" << n << ": the request did not end within " << no_hang.count() << " s";
    (void)token.wait();
    return Outcome::failed;
  }
  if (status == TransferStatus::completed) return Outcome::completed;
  EXPECT_EQ(status, TransferStatus::failed) << what << ", N=" << n;
  const std::optional<Error> error = token.error();
  EXPECT_TRUE(error.has_value()) << what << ", N=" << n << ": a failed token without its error";
  if (error) expect_names_the_call(error->what(), n);
  return Outcome::failed;
}

// Sweeps one engine request over a fresh engine per N (so that what the engine sets up on first use, staging
// rings and copy threads, is swept too); after each N the same engine must do the request correctly.
void sweep_engine_request(
    Runtime& runtime, const std::string& what, const TransferEngineOptions& options,
    const std::function<void()>& reset_destination, const std::function<CompletionToken(TransferEngine&)>& submit,
    const std::function<void(const std::string&)>& expect_done,
    const std::function<void(const RuntimeSnapshot&, const std::string&, std::uint64_t)>& undisturbed) {
  for (cudaError_t error : swept_errors) {
    std::unique_ptr<TransferEngine> engine;
    RuntimeSnapshot before;
    SweptOperation op;
    op.what = what;
    op.prepare = [&](std::uint64_t) {
      engine = std::make_unique<TransferEngine>(runtime, options);
      reset_destination();
      before = RuntimeSnapshot::of(runtime);
    };
    op.attempt = [&](std::uint64_t n) {
      const Outcome outcome = finish([&] { return submit(*engine); }, n, what);
      if (outcome == Outcome::completed) expect_done(fmt::format("{}, N={}", what, n));
      return outcome;
    };
    op.after = [&](std::uint64_t n) {
      undisturbed(before, what, n);
      reset_destination();
      EXPECT_EQ(finish([&] { return submit(*engine); }, n, what + " (again)"), Outcome::completed)
          << what << ": the engine does not work after the failure at N=" << n;
      expect_done(fmt::format("{} (again after N={})", what, n));
      engine->synchronize();
      engine.reset();
    };
    EXPECT_GT(sweep_calls(op, error), 0u) << what;
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST_F(FaultSweep, EngineCopyDirectAndStaged) {
  const std::size_t bytes = 256 * KiB + 100;  // five chunks
  const std::pair<MemoryMode, MemoryMode> directions[] = {
      {MemoryMode::pinned_host, MemoryMode::device},  // copy engine
      {MemoryMode::device, MemoryMode::pinned_host},  // copy engine
      {MemoryMode::system, MemoryMode::device},       // staged through pinned buffers where the GPU cannot read it
      {MemoryMode::device, MemoryMode::system},       // staged
      {MemoryMode::managed, MemoryMode::device},
  };
  for (const auto& [from, to] : directions) {
    if (!runtime_->has_mode(from) || !runtime_->has_mode(to)) continue;
    Buffer src = runtime_->allocate_in(from, bytes);
    Buffer dst = runtime_->allocate_in(to, bytes);
    const auto contents = random_bytes(rng_, bytes);
    put_bytes(src.data(), contents, from);
    const std::vector<unsigned char> poison(bytes, 0xA5);
    sweep_engine_request(
        *runtime_, fmt::format("engine copy {} -> {}", to_string(from), to_string(to)), small_chunks(),
        [&] { put_bytes(dst.data(), poison, to); },
        [&](TransferEngine& engine) {
          CopyRequest request;
          request.dst = dst.data();
          request.src = src.data();
          request.bytes = bytes;
          return engine.submit(request);
        },
        [&](const std::string& what) {
          EXPECT_EQ(get_bytes(dst.data(), bytes, to), contents) << what;
          EXPECT_EQ(get_bytes(src.data(), bytes, from), contents) << what << ": the source changed";
        },
        [&](const RuntimeSnapshot& before, const std::string& what, std::uint64_t n) {
          expect_undisturbed(before, what, n);
        });
    if (HasFatalFailure()) return;
  }
}

TEST_F(FaultSweep, EngineBatchWithEachMechanism) {
  constexpr std::size_t items = 48;
  const std::size_t item_bytes = 4 * KiB;
  Buffer src = runtime_->allocate_in(MemoryMode::pinned_host, items * item_bytes);
  Buffer dst = runtime_->allocate_in(MemoryMode::device, 2 * items * item_bytes);
  const auto contents = random_bytes(rng_, items * item_bytes);
  put_bytes(src.data(), contents, MemoryMode::pinned_host);
  const std::vector<unsigned char> poison(dst.size(), 0xA5);
  // Item i goes to slot 2 * (items - 1 - i) of the destination: reversed and spread, with gaps left poisoned.
  std::vector<unsigned char> expected = poison;
  for (std::size_t i = 0; i < items; ++i) {
    std::memcpy(expected.data() + 2 * (items - 1 - i) * item_bytes, contents.data() + i * item_bytes, item_bytes);
  }
  for (BatchMechanism mechanism : {BatchMechanism::copy_engine, BatchMechanism::sm_kernel}) {
    TransferEngineOptions options = small_chunks();
    options.batch_mechanism = mechanism;
    options.batch_max_items = 16;  // three batch calls
    sweep_engine_request(
        *runtime_,
        fmt::format("engine batch ({})", mechanism == BatchMechanism::copy_engine ? "copy engine" : "SM kernel"),
        options, [&] { put_bytes(dst.data(), poison, MemoryMode::device); },
        [&](TransferEngine& engine) {
          BatchCopyRequest request;
          for (std::size_t i = 0; i < items; ++i) {
            request.items.push_back({static_cast<unsigned char*>(dst.data()) + 2 * (items - 1 - i) * item_bytes,
                                     static_cast<const unsigned char*>(src.data()) + i * item_bytes, item_bytes});
          }
          return engine.submit(request);
        },
        [&](const std::string& what) {
          EXPECT_EQ(get_bytes(dst.data(), dst.size(), MemoryMode::device), expected) << what;
        },
        [&](const RuntimeSnapshot& before, const std::string& what, std::uint64_t n) {
          expect_undisturbed(before, what, n);
        });
    if (HasFatalFailure()) return;
  }
}

TEST_F(FaultSweep, EnginePrefetchBothWays) {
  if (!runtime_->has_mode(MemoryMode::managed)) GTEST_SKIP() << "no managed memory on this device";
  const std::size_t bytes = 512 * KiB + 4096;
  Buffer managed = runtime_->allocate_in(MemoryMode::managed, bytes);
  const auto contents = random_bytes(rng_, bytes);
  put_bytes(managed.data(), contents, MemoryMode::managed);
  for (PrefetchTarget target : {PrefetchTarget::device, PrefetchTarget::host}) {
    sweep_engine_request(
        *runtime_, fmt::format("engine prefetch to {}", target == PrefetchTarget::device ? "the device" : "the host"),
        small_chunks(), [] {},
        [&](TransferEngine& engine) {
          PrefetchRequest request;
          request.ptr = managed.data();
          request.bytes = bytes;
          request.target = target;
          return engine.submit(request);
        },
        [&](const std::string& what) {
          EXPECT_EQ(get_bytes(managed.data(), bytes, MemoryMode::managed), contents) << what;
        },
        [&](const RuntimeSnapshot& before, const std::string& what, std::uint64_t n) {
          expect_undisturbed(before, what, n);
          EXPECT_EQ(get_bytes(managed.data(), bytes, MemoryMode::managed), contents) << what << ", N=" << n;
        });
    if (HasFatalFailure()) return;
  }
}

TEST_F(FaultSweep, EngineConstruction) {
  for (cudaError_t error : swept_errors) {
    RuntimeSnapshot before;
    SweptOperation op;
    op.what = "TransferEngine construction";
    op.prepare = [&](std::uint64_t) { before = RuntimeSnapshot::of(*runtime_); };
    op.attempt = [&](std::uint64_t n) {
      try {
        TransferEngine engine(*runtime_, small_chunks());
        return Outcome::completed;
      } catch (const Error& e) {
        expect_names_the_call(e.what(), n);
        return Outcome::failed;
      }
    };
    op.after = [&](std::uint64_t n) {
      expect_undisturbed(before, op.what, n);
      TransferEngine engine(*runtime_, small_chunks());  // a later engine is unaffected
    };
    EXPECT_GT(sweep_calls(op, error), 0u);
    if (HasFatalFailure()) return;
  }
}

// ---- a kernel --------------------------------------------------------------------------------------------------

TEST_F(FaultSweep, Gather) {
  constexpr std::size_t rows = 1000;
  constexpr std::size_t row_bytes = 48;
  constexpr std::size_t count = 700;
  Buffer table = runtime_->allocate_in(MemoryMode::pinned_host, rows * row_bytes);
  const auto table_bytes = random_bytes(rng_, rows * row_bytes);
  put_bytes(table.data(), table_bytes, MemoryMode::pinned_host);
  std::vector<std::int64_t> indices(count);
  std::uniform_int_distribution<std::int64_t> pick(0, rows - 1);
  for (auto& i : indices) i = pick(rng_);
  Buffer device_indices = runtime_->allocate_in(MemoryMode::device, count * sizeof(std::int64_t));
  SWEEP_CUDA(cudaMemcpy(device_indices.data(), indices.data(), count * sizeof(std::int64_t), cudaMemcpyHostToDevice));
  Buffer out = runtime_->allocate_in(MemoryMode::device, count * row_bytes);
  std::vector<unsigned char> expected(count * row_bytes);
  for (std::size_t i = 0; i < count; ++i) {
    std::memcpy(expected.data() + i * row_bytes, table_bytes.data() + indices[i] * row_bytes, row_bytes);
  }
  const std::vector<unsigned char> poison(out.size(), 0xA5);
  const auto run = [&] {
    gather(table.data(), row_bytes, rows, device_indices.data_as<std::int64_t>(), count, out.data(), stream_, nullptr,
           runtime_->resource(MemoryMode::device));
    SWEEP_CUDA(cudaStreamSynchronize(stream_));
  };
  for (cudaError_t error : swept_errors) {
    RuntimeSnapshot before;
    SweptOperation op;
    op.what = "gather (index check through the runtime's device tier)";
    op.prepare = [&](std::uint64_t) {
      put_bytes(out.data(), poison, MemoryMode::device);
      before = RuntimeSnapshot::of(*runtime_);
    };
    op.attempt = [&](std::uint64_t n) {
      try {
        run();
        EXPECT_EQ(get_bytes(out.data(), out.size(), MemoryMode::device), expected) << "N=" << n;
        return Outcome::completed;
      } catch (const Error& e) {
        expect_names_the_call(e.what(), n);
        return Outcome::failed;
      }
    };
    op.after = [&](std::uint64_t n) {
      expect_undisturbed(before, op.what, n);
      put_bytes(out.data(), poison, MemoryMode::device);
      run();
      EXPECT_EQ(get_bytes(out.data(), out.size(), MemoryMode::device), expected) << "again after N=" << n;
    };
    EXPECT_GT(sweep_calls(op, error), 0u);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
