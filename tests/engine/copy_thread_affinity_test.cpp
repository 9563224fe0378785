// The copy threads' CPUs: the decision (node CPUs x the process's allowed CPUs, with the cases that leave the
// threads alone) against a reference set intersection on random sets, and the threads really restricted.
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "core/platform/topology.hpp"
#include "engine/copy_thread_affinity.hpp"
#include "engine/copy_workers.hpp"

namespace ghtier::detail {
namespace {

std::vector<int> affinity_of_this_thread() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(pthread_getaffinity_np(pthread_self(), sizeof(set), &set), 0);
  std::vector<int> out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) out.push_back(cpu);
  }
  return out;
}

TEST(CopyThreadAffinity, NodeCpusThatTheProcessMayUse) {
  std::mt19937 random(1503);
  for (int round = 0; round < 300; ++round) {
    std::vector<int> node;
    std::vector<int> allowed;
    std::set<int> in_node;
    for (int cpu = 0; cpu < 64; ++cpu) {
      if (random() % 2 == 0) {
        node.push_back(cpu);
        in_node.insert(cpu);
      }
      if (random() % 3 != 0) allowed.push_back(cpu);
    }
    std::shuffle(allowed.begin(), allowed.end(), random);
    std::vector<int> expected;
    for (int cpu : allowed) {
      if (in_node.contains(cpu)) expected.push_back(cpu);
    }
    std::sort(expected.begin(), expected.end());
    const CopyThreadAffinity chosen = choose_copy_thread_cpus(true, 1, node, allowed);
    EXPECT_EQ(chosen.cpus, expected);
    if (!node.empty()) {
      EXPECT_NE(chosen.note.find(expected.empty() ? "left as they are" : "on NUMA node 1's CPUs"), std::string::npos)
          << chosen.note;
    }
  }
}

TEST(CopyThreadAffinity, CasesThatLeaveTheThreadsAlone) {
  EXPECT_TRUE(choose_copy_thread_cpus(false, 0, {0, 1}, {0, 1}).cpus.empty());
  EXPECT_NE(choose_copy_thread_cpus(false, 0, {0, 1}, {0, 1}).note.find("turned off"), std::string::npos);
  EXPECT_TRUE(choose_copy_thread_cpus(true, -1, {0, 1}, {0, 1}).cpus.empty());
  EXPECT_NE(choose_copy_thread_cpus(true, -1, {0, 1}, {0, 1}).note.find("unknown"), std::string::npos);
  EXPECT_NE(choose_copy_thread_cpus(true, 2, {}, {0, 1}).note.find("memory only"), std::string::npos);
  const CopyThreadAffinity disjoint = choose_copy_thread_cpus(true, 1, {8, 9, 10, 11}, {0, 1, 2});
  EXPECT_TRUE(disjoint.cpus.empty());
  EXPECT_NE(disjoint.note.find("none of NUMA node 1's CPUs (8-11) is allowed to this process (0-2)"), std::string::npos)
      << disjoint.note;
  EXPECT_EQ(choose_copy_thread_cpus(true, 0, {0, 1, 2, 3}, {2, 3, 4}).cpus, (std::vector<int>{2, 3}));
}

TEST(CopyThreadAffinity, OffThroughTheEnvironment) {
  const Platform platform = assume_platform("x86-h100-pcie");
  ASSERT_EQ(setenv("GHTIER_COPY_THREAD_AFFINITY", "off", 1), 0);
  const CopyThreadAffinity off = copy_thread_affinity_for(platform, true);
  ASSERT_EQ(unsetenv("GHTIER_COPY_THREAD_AFFINITY"), 0);
  EXPECT_TRUE(off.cpus.empty());
  EXPECT_NE(off.note.find("turned off"), std::string::npos);
  // On: this host's answer is a subset of what the process may use.
  const CopyThreadAffinity on = copy_thread_affinity_for(platform, true);
  const std::vector<int> allowed = allowed_cpus();
  for (int cpu : on.cpus) EXPECT_TRUE(std::binary_search(allowed.begin(), allowed.end(), cpu)) << cpu;
}

TEST(CopyThreadAffinity, CopyThreadsRunOnTheChosenCpus) {
  const std::vector<int> allowed = allowed_cpus();
  ASSERT_FALSE(allowed.empty());
  const std::vector<int> one{allowed.back()};
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::vector<int> seen;
  {
    CopyWorkers workers(2, one);
    std::vector<std::byte> src(std::size_t{1} << 20, std::byte{7});
    std::vector<std::byte> dst(src.size());
    workers.post_copy(dst.data(), src.data(), src.size(), [&] {
      std::lock_guard lock(mutex);
      seen = affinity_of_this_thread();  // on a worker
      done = true;
      done_cv.notify_all();
    });
    std::unique_lock lock(mutex);
    done_cv.wait(lock, [&] { return done; });
    EXPECT_EQ(dst, src);
  }
  EXPECT_EQ(seen, one);
  EXPECT_EQ(pin_this_thread({}), "");
}

TEST(CopyThreadAffinity, AFailedRestrictionIsAWarningNotACrash) {
  EXPECT_NE(pin_this_thread({100000}).find("outside the affinity mask"), std::string::npos);
  // A CPU id the kernel has no CPU for: pthread_setaffinity_np refuses (EINVAL); the threads still copy.
  const int missing = CPU_SETSIZE - 1;
  const std::vector<int> allowed = allowed_cpus();
  if (std::binary_search(allowed.begin(), allowed.end(), missing)) GTEST_SKIP() << "CPU " << missing << " exists";
  EXPECT_NE(pin_this_thread({missing}).find("pthread_setaffinity_np"), std::string::npos);
  std::atomic<bool> done{false};
  // The buffers outlive the workers: the copy may still run in the workers' destructor.
  std::vector<std::byte> src(4096, std::byte{3});
  std::vector<std::byte> dst(src.size());
  {
    CopyWorkers workers(1, {missing});
    workers.post_copy(dst.data(), src.data(), src.size(), [&] { done = true; });
  }  // the destructor finishes the copy
  EXPECT_TRUE(done.load());
  EXPECT_EQ(dst, src);
}

}  // namespace
}  // namespace ghtier::detail
