// The GPU stress test (issue 14, "Load"): threads (16 by default) run mixed operations for a while (60 s by
// default) on one Runtime and one TransferEngine with tight budgets: allocations and frees in every mode the
// platform has, engine copies and batches in every direction, prefetches of managed memory, relocations, and
// gathers reading shared tables. Checked: no budget passed and no refusal undeserved (an independent ledger,
// plus samples of the runtime's counters), every byte of every operation, no error but budget refusals, no
// hang (a watchdog names the operation), and at the end the runtime's and engine's statistics against the
// test's own counts. Prints operations per second per kind; GHTIER_STRESS_JSON=FILE writes them as JSON.
// Options: stress_options.hpp (environment or command line).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

#include "budget_ledger.hpp"
#include "byte_pattern.hpp"
#include "ghtier/engine/transfer_engine.hpp"
#include "ghtier/memory/memory_mode.hpp"
#include "ghtier/runtime/runtime.hpp"
#include "heartbeat_board.hpp"
#include "stress_context.hpp"
#include "stress_options.hpp"
#include "stress_report.hpp"
#include "test_support.hpp"

using namespace ghtier;
using namespace ghtier::stress;

namespace {

StressOptions options;  // from main()

/// Bytes of each shared table (read by every thread; each tier's budget is this plus the tight part).
constexpr std::size_t table_bytes = std::size_t{2} << 20;

/// Which modes the runtime has and what the platform lets the GPU do with each.
MixOptions mix_for(const Runtime& runtime) {
  MixOptions mix;
  for (MemoryMode mode : all_memory_modes) {
    if (!runtime.has_mode(mode)) continue;
    mix.modes.push_back(mode);
    mix.shared_modes.push_back(mode);
    if (describe_mode(runtime.platform(), mode).gpu_access) mix.gpu_modes.push_back(mode);
    if (relocation_for(runtime.platform(), mode) == Relocation::prefetch) mix.prefetch_modes.push_back(mode);
  }
  return mix;
}

/// Samples the runtime's counters into the ledger until stopped.
void sample_runtime(const Runtime& runtime, BudgetLedger& ledger, const std::vector<MemoryMode>& modes,
                    const std::atomic<bool>& done) {
  while (!done.load()) {
    for (MemoryMode mode : modes) {
      const AllocationStatistics s = runtime.statistics(mode);
      ledger.observe_runtime(mode, runtime.budget_used(mode), s.current_bytes, s.peak_bytes);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

/// Ends the process, naming the operation, if a thread's operation runs past the hang limit.
void watch_for_hangs(const HeartbeatBoard& board, std::chrono::nanoseconds limit, const std::atomic<bool>& done) {
  while (!done.load()) {
    if (const auto stale = board.stale(HeartbeatBoard::Clock::now(), limit)) {
      std::fprintf(stderr, "stress: hang: %s; aborting\n", stale->c_str());
      std::fflush(stderr);
      std::_Exit(3);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

TEST(Stress, MixedOperationsUnderTightBudgetsKeepEveryByteAndEveryBudget) {
  GHTIER_REQUIRE_GPU();
  auto rng = test::fresh_rng();
  const std::size_t tight = tight_budget_bytes(options);
  const std::size_t budget = table_bytes + tight;
  RuntimeOptions runtime_options;
  runtime_options.device_budget = budget;
  runtime_options.pinned_host_budget = budget;
  runtime_options.managed_budget = budget;
  runtime_options.system_budget = budget;
  Runtime runtime(runtime_options);
  MixOptions mix = mix_for(runtime);
  ASSERT_FALSE(mix.modes.empty());
  BudgetLedger ledger({budget, budget, budget, budget});
  // Small chunks and staging slots, so that the copies drawn (up to 1 MiB) are cut and staged in many pieces.
  TransferEngineOptions engine_options;
  engine_options.chunk_bytes = 256 << 10;
  engine_options.staging_chunk_bytes = 64 << 10;
  engine_options.staging_slots = 4;
  TransferEngine engine(runtime, engine_options);
  HeartbeatBoard board(options.threads);
  const auto hang =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(options.hang_seconds));
  StressContext context(runtime, engine, ledger, board, mix, hang);
  std::printf("stress: %u threads for %.1f s; tiers:", options.threads, options.seconds);
  for (MemoryMode mode : mix.modes) std::printf(" %s", std::string(to_string(mode)).c_str());
  std::printf("; budget per tier %zu bytes (%zu of them a shared table)\n", budget, table_bytes);

  // The shared tables: filled once, then only read (gathers, copy sources, prefetches) by every thread.
  for (MemoryMode mode : mix.modes) {
    auto table = try_allocate(context, mode, table_bytes, nullptr, rng());
    ASSERT_TRUE(table.has_value()) << to_string(mode) << ": the shared table does not fit its budget";
    if (mode == MemoryMode::device) {
      std::vector<unsigned char> host(table_bytes);
      fill_pattern(host.data(), host.size(), table->seed());
      ASSERT_EQ(cudaMemcpy(table->data(), host.data(), host.size(), cudaMemcpyHostToDevice), cudaSuccess);
    } else {
      fill_pattern(table->data(), table_bytes, table->seed());
    }
    context.tables[index_of(mode)] = std::move(*table);
  }
  runtime.reset_peaks();

  std::atomic<bool> done{false};
  std::thread sampler(sample_runtime, std::cref(runtime), std::ref(ledger), std::cref(mix.modes), std::cref(done));
  std::thread watchdog(watch_for_hangs, std::cref(board), hang, std::cref(done));
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(options.seconds));
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < options.threads; ++t) {
    threads.emplace_back(run_stress_thread, std::ref(context), t, rng(), deadline);
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  engine.synchronize();
  done.store(true);
  sampler.join();
  watchdog.join();

  // The shared tables were only read: their bytes must be as filled.
  for (MemoryMode mode : mix.modes) {
    HeldBuffer& table = *context.tables[index_of(mode)];
    std::vector<unsigned char> host(table.size());
    ASSERT_EQ(cudaMemcpy(host.data(), table.data(), host.size(), cudaMemcpyDefault), cudaSuccess);
    EXPECT_FALSE(first_pattern_mismatch(host.data(), host.size(), table.seed()).has_value())
        << to_string(mode) << ": a shared table changed";
    table.release();
  }

  StressReport report;
  report.threads = options.threads;
  report.seconds = seconds;
  for (StressOp kind : all_stress_ops) report.kinds[index_of(kind)] = context.counters.count(kind);
  for (MemoryMode mode : mix.modes) report.tiers.emplace_back(mode, ledger.tally(mode));
  report.problems = context.problems();
  for (const auto& v : ledger.violations()) report.problems.push_back("ledger: " + v);
  std::cout << format_report(report) << std::flush;
  if (!options.json_path.empty()) {
    std::ofstream file(options.json_path);
    file << report_json(report).dump(2) << "\n";
    EXPECT_TRUE(file.good()) << "could not write " << options.json_path;
  }

  // No error but budget refusals, no byte wrong, no budget passed, no undeserved refusal.
  for (const auto& p : report.problems) ADD_FAILURE() << p;
  // Every kind the platform allows ran.
  OperationMix possible(mix, 0);
  for (StressOp kind : all_stress_ops) {
    if (possible.possible(kind)) {
      EXPECT_GT(report.kinds[index_of(kind)].done, 0u) << to_string(kind) << " never ran";
    }
  }
  // The runtime's statistics against the test's own counts, now that everything is freed.
  EXPECT_EQ(ledger.open_attempts(), 0u);
  EXPECT_TRUE(runtime.live_allocations().empty()) << runtime.live_allocations().size() << " allocations still live";
  std::uint64_t refusals = 0;
  for (MemoryMode mode : mix.modes) {
    SCOPED_TRACE(std::string(to_string(mode)));
    const TierTally t = ledger.tally(mode);
    const AllocationStatistics s = runtime.statistics(mode);
    EXPECT_EQ(t.held, 0u);
    EXPECT_EQ(t.claimed, 0u);
    EXPECT_EQ(runtime.budget_used(mode), 0u);
    EXPECT_EQ(s.current_bytes, 0u);
    EXPECT_EQ(s.current_allocations, 0u);
    EXPECT_EQ(s.total_allocations, t.allocations);
    EXPECT_EQ(s.total_bytes, t.allocated_bytes);
    EXPECT_EQ(s.failed_allocations, t.refusals + t.failures);
    EXPECT_LE(s.peak_bytes, budget);
    EXPECT_GT(t.runtime_samples, 0u);
    refusals += t.refusals;
    if (options.require_refusals) {
      EXPECT_GT(t.refusals, 0u) << "the budget was meant to be tight enough to refuse";
    }
  }
  if (!options.require_refusals)
    std::printf("stress: %llu budget refusals\n", static_cast<unsigned long long>(refusals));
  const TransferStatistics es = engine.statistics();
  EXPECT_EQ(es.submitted, context.submitted.load());
  EXPECT_EQ(es.completed, es.submitted);
  EXPECT_EQ(es.failed, 0u);
  EXPECT_EQ(es.cancelled, 0u);
  EXPECT_EQ(es.queue_depth, 0u);
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  try {
    options = parse_stress_options([](const char* name) { return std::getenv(name); },
                                   std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stress_gpu_test: %s\n", e.what());
    return 2;
  }
  return RUN_ALL_TESTS();
}
