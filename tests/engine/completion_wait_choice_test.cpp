// CPU tests (CI) of how a watcher waits for a chunk: the cases the latency fix is about (a lone 4 KiB urgent
// copy is polled; a background copy, a dependency, a long chunk or a full lane is not), then random chunks
// against an independent statement of the rule.
#include "engine/completion_wait_choice.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>

#include "test_support.hpp"

namespace ghtier::detail {
namespace {

constexpr std::size_t KiB = std::size_t{1} << 10;
constexpr std::size_t MiB = std::size_t{1} << 20;

CompletionWaitInputs lone_urgent(std::size_t bytes) {
  CompletionWaitInputs chunk;
  chunk.priority = TransferPriority::urgent;
  chunk.last_chunk = true;
  chunk.chunk_bytes = bytes;
  return chunk;
}

TEST(CompletionWaitChoice, ALoneSmallUrgentCopyIsPolledWithinTheBudget) {
  const CompletionWaitPolicy policy;
  const CompletionWaitChoice choice = choose_completion_wait(lone_urgent(4 * KiB), policy);
  EXPECT_EQ(choice.wait, CompletionWait::polled);
  EXPECT_EQ(choice.poll_budget, policy.poll_budget);
  EXPECT_GT(choice.poll_budget.count(), 0);
  EXPECT_EQ(choose_completion_wait(lone_urgent(1)).wait, CompletionWait::polled);
  EXPECT_EQ(choose_completion_wait(lone_urgent(policy.poll_bytes_limit)).wait, CompletionWait::polled);
}

TEST(CompletionWaitChoice, EverythingElseSleeps) {
  auto expect_blocking = [](const CompletionWaitInputs& chunk, const char* what) {
    const CompletionWaitChoice choice = choose_completion_wait(chunk);
    EXPECT_EQ(choice.wait, CompletionWait::blocking) << what;
    EXPECT_EQ(choice.poll_budget.count(), 0) << what;
  };
  CompletionWaitInputs chunk = lone_urgent(4 * KiB);
  chunk.priority = TransferPriority::background;
  expect_blocking(chunk, "a background copy: its caller accepts latency, no core is spent on it");
  chunk = lone_urgent(4 * KiB);
  chunk.last_chunk = false;
  expect_blocking(chunk, "not the last chunk: no caller waits on it");
  chunk = lone_urgent(4 * KiB);
  chunk.waits_for_dependency = true;
  expect_blocking(chunk, "a dependency may hold the stream for any time");
  expect_blocking(lone_urgent(CompletionWaitPolicy{}.poll_bytes_limit + 1), "a chunk longer than the limit");
  expect_blocking(lone_urgent(16 * MiB), "a full chunk");
  chunk = lone_urgent(4 * KiB);
  chunk.bytes_ahead = 32 * MiB;  // the background window of a busy lane
  expect_blocking(chunk, "behind a background window");
  chunk.bytes_ahead = std::numeric_limits<std::size_t>::max();
  expect_blocking(chunk, "an absurd amount ahead (no overflow)");
  CompletionWaitPolicy never;
  never.poll_budget = std::chrono::microseconds{0};
  EXPECT_EQ(choose_completion_wait(lone_urgent(4 * KiB), never).wait, CompletionWait::blocking) << "budget 0";
}

TEST(CompletionWaitChoice, RandomChunksFollowTheRule) {
  auto rng = test::fresh_rng();
  std::uniform_int_distribution<std::size_t> small(0, 2 * MiB);
  std::uniform_int_distribution<std::size_t> any(0, std::numeric_limits<std::size_t>::max());
  for (int i = 0; i < 20'000; ++i) {
    CompletionWaitInputs chunk;
    chunk.priority = rng() % 2 ? TransferPriority::urgent : TransferPriority::background;
    chunk.last_chunk = rng() % 4 != 0;
    chunk.waits_for_dependency = rng() % 4 == 0;
    chunk.chunk_bytes = rng() % 16 ? small(rng) : any(rng);
    chunk.bytes_ahead = rng() % 3 ? small(rng) % (rng() % 2 ? 64 * KiB + 1 : 2 * MiB) : any(rng);
    CompletionWaitPolicy policy;
    policy.poll_bytes_limit = std::uniform_int_distribution<std::size_t>(0, 2 * MiB)(rng);
    policy.poll_budget = std::chrono::microseconds{static_cast<int>(rng() % 5 == 0 ? 0 : rng() % 1000)};
    // The rule, stated over exact (128-bit) sums.
    const unsigned __int128 total = static_cast<unsigned __int128>(chunk.chunk_bytes) + chunk.bytes_ahead;
    const bool expect_poll = policy.poll_budget.count() > 0 && chunk.priority == TransferPriority::urgent &&
                             chunk.last_chunk && !chunk.waits_for_dependency && total <= policy.poll_bytes_limit;
    const CompletionWaitChoice choice = choose_completion_wait(chunk, policy);
    ASSERT_EQ(choice.wait == CompletionWait::polled, expect_poll)
        << "chunk " << chunk.chunk_bytes << " ahead " << chunk.bytes_ahead << " limit " << policy.poll_bytes_limit
        << " budget " << policy.poll_budget.count() << " urgent " << (chunk.priority == TransferPriority::urgent)
        << " last " << chunk.last_chunk << " dependency " << chunk.waits_for_dependency;
    ASSERT_EQ(choice.poll_budget, expect_poll ? policy.poll_budget : std::chrono::microseconds{0});
  }
}

}  // namespace
}  // namespace ghtier::detail
