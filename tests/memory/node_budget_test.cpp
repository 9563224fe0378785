// The node-wide host budget with real processes: forked children reserving at once never pass the limit
// (checked against a count kept outside the budget), a child killed while holding bytes is reclaimed, a
// foreign or corrupt segment is refused with a clear error; the spec parser; the adaptor over a fake upstream.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "core/memory/node_budget.hpp"
#include "core/memory/node_budget_adaptor.hpp"
#include "fake_upstream.hpp"
#include "ghtier/error.hpp"
#include "ghtier/runtime/runtime.hpp"

namespace ghtier::detail {
namespace {

// A segment name of this test process, removed before and after.
class ScopedName {
 public:
  explicit ScopedName(const char* what) : name_(std::string("test-") + what + "-" + std::to_string(getpid())) {
    NodeBudget::remove(name_);
  }
  ~ScopedName() { NodeBudget::remove(name_); }
  [[nodiscard]] const std::string& str() const { return name_; }

 private:
  std::string name_;
};

template <typename F>
std::string error_of(F&& f, ErrorCode code = ErrorCode::invalid_argument) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

TEST(NodeBudgetSpec, ParsesNameAndSize) {
  const NodeBudgetSpec a = parse_node_budget_spec("train:256G", "GHTIER_NODE_BUDGET");
  EXPECT_EQ(a.name, "train");
  EXPECT_EQ(a.bytes, std::size_t{256} << 30);
  EXPECT_EQ(parse_node_budget_spec("a.b_c-1:4096", "x").bytes, 4096u);
  EXPECT_EQ(parse_node_budget_spec("n:3k", "x").bytes, 3u << 10);
  EXPECT_EQ(parse_node_budget_spec("n:2T", "x").bytes, std::size_t{2} << 40);
  EXPECT_NE(error_of([] { (void)parse_node_budget_spec("train", "GHTIER_NODE_BUDGET"); }).find("expected NAME:BYTES"),
            std::string::npos);
  EXPECT_NE(error_of([] { (void)parse_node_budget_spec("tr/ain:1G", "x"); }).find("must be 1..200 characters"),
            std::string::npos);
  EXPECT_NE(error_of([] { (void)parse_node_budget_spec(":1G", "x"); }).find("must be 1..200"), std::string::npos);
  for (const char* bad : {"n:", "n:0", "n:G", "n:1.5G", "n:-1", "n:1X", "n:99999999999999999999", "n:17179869184G"}) {
    EXPECT_NE(error_of([&] { (void)parse_node_budget_spec(bad, "x"); }).find("positive whole number"),
              std::string::npos)
        << bad;
  }
}

TEST(NodeBudget, ProcessStartTimeNamesAProcess) {
  const auto mine = process_start_time(getpid());
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(process_start_time(getpid()), mine);
  EXPECT_FALSE(process_start_time(0x3fffffff).has_value());
  // A child that has exited but is not reaped yet (a zombie) is gone too.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);  // exited, still a zombie
  EXPECT_FALSE(process_start_time(child).has_value());
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
}

TEST(NodeBudget, OneProcessReservesAndReleases) {
  ScopedName name("one");
  NodeBudget budget({name.str(), 1000});
  EXPECT_EQ(budget.limit(), 1000u);
  budget.reserve(600);
  NodeBudget second({name.str(), 5000});  // the same process through another object: the segment's limit holds
  EXPECT_EQ(second.limit(), 1000u);
  second.reserve(400);
  EXPECT_EQ(budget.used(), 1000u);
  EXPECT_EQ(budget.held_by_this_process(), 1000u);
  const std::string refused = error_of([&] { budget.reserve(1); }, ErrorCode::out_of_budget);
  EXPECT_NE(refused.find("requested 1 bytes, 1000 of the node's limit of 1000"), std::string::npos) << refused;
  budget.release(1000);
  EXPECT_EQ(second.used(), 0u);
  budget.release(5);  // more than held: logged, clamped
  EXPECT_EQ(second.used(), 0u);
}

// Children reserve random sizes at once, each holding a few grants, and keep a count of what they hold in shared
// memory, outside the budget: that count never passes the limit, both grants and refusals happen, and all is released
// at the end.
TEST(NodeBudget, ConcurrentProcessesNeverExceedTheLimit) {
  ScopedName name("concurrent");
  constexpr std::size_t limit = 10'000;
  constexpr int children = 6;
  struct Shared {
    std::atomic<std::int64_t> held{0};
    std::atomic<std::int64_t> peak{0};
    std::atomic<int> granted{0};
    std::atomic<int> refused{0};
    std::atomic<int> errors{0};
  };
  void* map = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(map, MAP_FAILED);
  auto* shared = new (map) Shared;
  std::vector<pid_t> pids;
  for (int c = 0; c < children; ++c) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int status = 0;
      try {
        NodeBudget budget({name.str(), limit});  // the first child creates it; the others open it
        std::mt19937 random(static_cast<unsigned>(c) * 7919u + 1u);
        // Each child holds up to four grants at once (up to 12000 bytes, more than the limit), so refusals
        // happen even when the scheduler runs the children one after another, as it can on two cores.
        std::deque<std::size_t> holding;
        const auto release_oldest = [&] {
          const std::size_t bytes = holding.front();
          holding.pop_front();
          shared->held.fetch_sub(static_cast<std::int64_t>(bytes));
          budget.release(bytes);
        };
        for (int i = 0; i < 3000; ++i) {
          if (holding.size() == 4) release_oldest();
          const std::size_t bytes = 1 + random() % 3000;
          try {
            budget.reserve(bytes);
          } catch (const Error& e) {
            if (e.code() != ErrorCode::out_of_budget) throw;
            shared->refused.fetch_add(1);
            continue;
          }
          const std::int64_t now =
              shared->held.fetch_add(static_cast<std::int64_t>(bytes)) + static_cast<std::int64_t>(bytes);
          std::int64_t peak = shared->peak.load();
          while (now > peak && !shared->peak.compare_exchange_weak(peak, now)) {}
          shared->granted.fetch_add(1);
          holding.push_back(bytes);
          if (random() % 4 == 0) sched_yield();
        }
        while (!holding.empty()) release_oldest();
      } catch (...) {
        shared->errors.fetch_add(1);
        status = 1;
      }
      _exit(status);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(shared->errors.load(), 0);
  EXPECT_LE(shared->peak.load(), static_cast<std::int64_t>(limit));
  EXPECT_GT(shared->granted.load(), 0);
  EXPECT_GT(shared->refused.load(), 0) << "no contention: the test proves nothing";
  NodeBudget budget({name.str(), limit});
  EXPECT_EQ(budget.used(), 0u);
  munmap(map, sizeof(Shared));
}

TEST(NodeBudget, AKilledProcessesBytesAreReclaimed) {
  ScopedName name("killed");
  NodeBudget budget({name.str(), 1 << 20});
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    try {
      NodeBudget mine({name.str(), 1 << 20});
      mine.reserve(900'000);
    } catch (...) {
      _exit(1);
    }
    const char byte = 1;
    (void)!write(ready[1], &byte, 1);
    for (;;) pause();  // holding the bytes until killed
  }
  close(ready[1]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  EXPECT_EQ(budget.used(), 900'000u);
  EXPECT_NE(error_of([&] { budget.reserve(200'000); }, ErrorCode::out_of_budget).find("900000"), std::string::npos);
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  budget.reserve(1 << 20);  // the whole node: the dead child's bytes were reclaimed
  EXPECT_EQ(budget.used(), std::size_t{1} << 20);
  EXPECT_EQ(budget.held_by_this_process(), std::size_t{1} << 20);
  budget.release(1 << 20);
}

// Children killed while reserving in a loop (so often while holding the segment's lock): the robust mutex
// recovers, the next caller never hangs, and each dead child's bytes come back. alarm() turns a hang into a
// failure.
TEST(NodeBudget, KilledWhileHoldingTheLockNeverHangsTheOthers) {
  ScopedName name("lockholder");
  NodeBudget budget({name.str(), 1 << 20});
  alarm(60);
  for (int trial = 0; trial < 20; ++trial) {
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(ready[0]);
      NodeBudget mine({name.str(), 1 << 20});
      mine.reserve(1000);
      const char byte = 1;
      (void)!write(ready[1], &byte, 1);
      for (;;) {
        mine.reserve(1);
        mine.release(1);
      }
    }
    close(ready[1]);
    char byte = 0;
    ASSERT_EQ(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    usleep(static_cast<useconds_t>(200 + trial * 50));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    budget.reserve(1 << 20);  // the child's bytes are reclaimed, the lock recovered
    budget.release(1 << 20);
  }
  alarm(0);
  EXPECT_EQ(budget.used(), 0u);
}

// Writes `bytes` at `offset` of the segment of `name` (an outside program, or corruption).
void scribble(const std::string& name, std::size_t offset, const void* bytes, std::size_t count) {
  const int fd = shm_open(NodeBudget::segment_name(name).c_str(), O_RDWR, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, bytes, count, static_cast<off_t>(offset)), static_cast<ssize_t>(count));
  close(fd);
}

// A slot whose pid is alive but names another process than the one that took it (another start time: the pid
// was reused) is reclaimed when the budget needs the room. Written into the segment at version 1's layout.
TEST(NodeBudget, AReusedPidsSlotIsReclaimed) {
  ScopedName name("reused");
  NodeBudget budget({name.str(), 5000});
  const std::int64_t live_pid = getppid();  // alive, with its own start time
  const std::uint64_t slot[3] = {static_cast<std::uint64_t>(live_pid), 12345, 5000};
  const std::size_t slot0 = 24 + sizeof(pthread_mutex_t);
  scribble(name.str(), slot0, slot, sizeof(slot));
  EXPECT_EQ(budget.used(), 5000u);
  budget.reserve(4000);  // only fits once the stale slot is gone
  EXPECT_EQ(budget.used(), 4000u);
  // A slot with the live process's real start time is not taken away.
  const std::uint64_t genuine[3] = {static_cast<std::uint64_t>(live_pid), *process_start_time(getppid()), 1000};
  scribble(name.str(), slot0 + 24 * 5, genuine, sizeof(genuine));
  EXPECT_EQ(error_of([&] { budget.reserve(1); }, ErrorCode::out_of_budget).empty(), false);
  EXPECT_EQ(budget.used(), 5000u);
  budget.release(4000);
}

TEST(NodeBudget, ForeignOrCorruptSegmentsAreRefused) {
  ScopedName name("corrupt");
  { NodeBudget make({name.str(), 4096}); }
  const std::uint64_t bad_magic = 0x1234;
  scribble(name.str(), 0, &bad_magic, sizeof(bad_magic));
  EXPECT_NE(error_of([&] {
              NodeBudget b({name.str(), 4096});
            }).find("is not a ghtier node budget (magic 0x1234"),
            std::string::npos);

  NodeBudget::remove(name.str());
  { NodeBudget make({name.str(), 4096}); }
  const std::uint32_t future = 99;
  scribble(name.str(), 8, &future, sizeof(future));
  EXPECT_NE(error_of([&] { NodeBudget b({name.str(), 4096}); }).find("of version 99"), std::string::npos);

  // Another program's segment of another size.
  NodeBudget::remove(name.str());
  const int fd = shm_open(NodeBudget::segment_name(name.str()).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 100), 0);
  close(fd);
  EXPECT_NE(error_of([&] { NodeBudget b({name.str(), 4096}); }).find("is 100 bytes, not the"), std::string::npos);

  // A segment whose creator died before finishing it (size set, no magic).
  NodeBudget::remove(name.str());
  { NodeBudget make({name.str(), 4096}); }
  const std::uint64_t zero = 0;
  scribble(name.str(), 0, &zero, sizeof(zero));
  EXPECT_NE(error_of([&] {
              NodeBudget b({name.str(), 4096});
            }).find("never finished by its creator"),
            std::string::npos);
  EXPECT_NE(error_of([] { NodeBudget b({"bad name", 1}); }).find("must be 1..200"), std::string::npos);
  EXPECT_NE(error_of([&] { NodeBudget b({name.str() + "-zero", 0}); }).find("0 bytes"), std::string::npos);
}

TEST(NodeBudgetAdaptor, ReservesBeforeAndReleasesAfterTheUpstream) {
  ScopedName name("adaptor");
  auto budget = std::make_shared<NodeBudget>(NodeBudgetSpec{name.str(), 1 << 16});
  auto upstream = std::make_shared<test::FakeUpstream>(MemoryMode::pinned_host);
  NodeBudgetAdaptor adaptor(upstream, budget);
  EXPECT_EQ(adaptor.mode(), MemoryMode::pinned_host);
  void* a = adaptor.allocate(40'000);
  EXPECT_EQ(budget->used(), 40'000u);
  EXPECT_NE(error_of([&] { (void)adaptor.allocate(30'000); }, ErrorCode::out_of_budget).find("node budget"),
            std::string::npos);
  EXPECT_EQ(upstream->allocations.load(), 1);  // the refusal never reached the upstream
  upstream->fail_next = 1;
  EXPECT_THROW((void)adaptor.allocate(1000), OutOfMemoryError);
  EXPECT_EQ(budget->used(), 40'000u);  // given back when the upstream failed
  adaptor.deallocate(a, 40'000);
  EXPECT_EQ(budget->used(), 0u);
  EXPECT_EQ(upstream->live_bytes.load(), 0u);
}

// Two runtimes of one process (two GPUs' worth) under one node budget: their pinned and system tiers count
// together; the per-tier budgets still hold; GHTIER_NODE_BUDGET does the same; "off" turns it off.
TEST(NodeBudgetRuntime, HostTiersOfEveryRuntimeCountTogether) {
  ScopedName name("runtime");
  auto make = [](RuntimeOptions options) {
    RuntimeResources resources;
    resources.pinned_host = std::make_shared<test::FakeUpstream>(MemoryMode::pinned_host);
    resources.system = std::make_shared<test::FakeUpstream>(MemoryMode::system);
    return std::make_unique<Runtime>(assume_platform("x86-h100-pcie"), resources, options);
  };
  RuntimeOptions options;
  options.node_budget = name.str() + ":100000";
  auto first = make(options);
  auto second = make(options);
  Buffer a = first->allocate_in(MemoryMode::pinned_host, 60'000);
  Buffer b = second->allocate_in(MemoryMode::system, 30'000);
  EXPECT_NE(error_of([&] { (void)second->allocate_in(MemoryMode::pinned_host, 20'000); }, ErrorCode::out_of_budget)
                .find("node budget " + name.str()),
            std::string::npos);
  Buffer c = first->allocate_in(MemoryMode::system, 10'000);  // exactly the rest
  NodeBudget view({name.str(), 1});
  EXPECT_EQ(view.used(), 100'000u);
  a = Buffer();
  EXPECT_EQ(view.used(), 40'000u);
  // The per-tier budget is still there, under the node's.
  first->set_budget(MemoryMode::system, 15'000);
  EXPECT_NE(error_of([&] { (void)first->allocate_in(MemoryMode::system, 10'000); }, ErrorCode::out_of_budget)
                .find("system budget exceeded"),
            std::string::npos);
  EXPECT_EQ(view.used(), 40'000u);

  ASSERT_EQ(setenv("GHTIER_NODE_BUDGET", (name.str() + ":100000").c_str(), 1), 0);
  auto from_environment = make(RuntimeOptions{});
  RuntimeOptions off;
  off.node_budget = "off";
  auto unlimited = make(off);
  ASSERT_EQ(unsetenv("GHTIER_NODE_BUDGET"), 0);
  EXPECT_THROW((void)from_environment->allocate_in(MemoryMode::pinned_host, 70'000), OutOfBudgetError);
  Buffer d = unlimited->allocate_in(MemoryMode::pinned_host, 70'000);
  EXPECT_EQ(view.used(), 40'000u);

  RuntimeOptions bad;
  bad.node_budget = "no-size";
  EXPECT_NE(error_of([&] { (void)make(bad); }).find("RuntimeOptions::node_budget"), std::string::npos);
}

}  // namespace
}  // namespace ghtier::detail
