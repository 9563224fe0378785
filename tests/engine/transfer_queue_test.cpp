// TransferQueue: urgent before background, FIFO within a priority, an urgent job overtakes within one chunk;
// random sequences against a reference model.
#include "engine/transfer_queue.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace ghtier::detail {
namespace {

struct FakeJob {
  std::string name;
  int chunks_left = 1;
};

// What a dispatcher does: one chunk of the front job, then ask again.
std::string dispatch_one_chunk(TransferQueue<FakeJob>& queue) {
  for (TransferPriority p : priorities_in_order) {
    if (FakeJob* job = queue.front_of(p)) {
      std::string name = job->name;
      if (--job->chunks_left == 0) queue.pop_front(p);
      return name;
    }
  }
  return {};
}

TEST(TransferQueue, UrgentBeforeBackgroundFifoWithin) {
  TransferQueue<FakeJob> queue;
  queue.push({"b1"}, TransferPriority::background);
  queue.push({"u1"}, TransferPriority::urgent);
  queue.push({"b2"}, TransferPriority::background);
  queue.push({"u2"}, TransferPriority::urgent);
  EXPECT_EQ(queue.size(), 4u);
  EXPECT_EQ(queue.size(TransferPriority::urgent), 2u);
  std::vector<std::string> order;
  while (!queue.empty()) order.push_back(dispatch_one_chunk(queue));
  EXPECT_EQ(order, (std::vector<std::string>{"u1", "u2", "b1", "b2"}));
  EXPECT_EQ(queue.peak_size(), 4u);
}

TEST(TransferQueue, UrgentOvertakesALongBackgroundJobWithinOneChunk) {
  TransferQueue<FakeJob> queue;
  queue.push({"offload", 100}, TransferPriority::background);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(dispatch_one_chunk(queue), "offload");
  queue.push({"prefetch", 3}, TransferPriority::urgent);
  // The very next chunk is the urgent job's: it waited for the chunk in progress only.
  EXPECT_EQ(dispatch_one_chunk(queue), "prefetch");
  EXPECT_EQ(dispatch_one_chunk(queue), "prefetch");
  EXPECT_EQ(dispatch_one_chunk(queue), "prefetch");
  EXPECT_EQ(dispatch_one_chunk(queue), "offload");
  EXPECT_EQ(queue.front()->chunks_left, 94);
}

TEST(TransferQueue, FrontHonoursTheAllowedPriorities) {
  TransferQueue<FakeJob> queue;
  queue.push({"b"}, TransferPriority::background);
  queue.push({"u"}, TransferPriority::urgent);
  EXPECT_EQ(queue.front(true, true)->name, "u");
  EXPECT_EQ(queue.front(false, true)->name, "b");
  EXPECT_EQ(queue.front(false, false), nullptr);
  queue.pop_front(TransferPriority::urgent);
  EXPECT_EQ(queue.front(true, false), nullptr);
  queue.pop_front(TransferPriority::urgent);  // no-op when empty
  EXPECT_EQ(queue.size(), 1u);
}

TEST(TransferQueue, TakeAllReturnsUrgentFirstAndEmpties) {
  TransferQueue<FakeJob> queue;
  queue.push({"b1"}, TransferPriority::background);
  queue.push({"u1"}, TransferPriority::urgent);
  queue.push({"b2"}, TransferPriority::background);
  const auto all = queue.take_all();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "u1");
  EXPECT_EQ(all[1].name, "b1");
  EXPECT_EQ(all[2].name, "b2");
  EXPECT_TRUE(queue.empty());
}

TEST(TransferQueue, RandomSequencesMatchAReferenceModel) {
  auto rng = test::fresh_rng();
  for (int trial = 0; trial < 200; ++trial) {
    TransferQueue<FakeJob> queue;
    std::vector<FakeJob> urgent_model;
    std::vector<FakeJob> background_model;
    int id = 0;
    for (int step = 0; step < 400; ++step) {
      if (std::uniform_int_distribution<int>(0, 2)(rng) == 0) {
        const bool urgent = std::bernoulli_distribution(0.3)(rng);
        FakeJob job{std::to_string(id++), std::uniform_int_distribution<int>(1, 5)(rng)};
        (urgent ? urgent_model : background_model).push_back(job);
        queue.push(job, urgent ? TransferPriority::urgent : TransferPriority::background);
      } else {
        // Reference: the first urgent job if any, else the first background job.
        std::string expected;
        auto& model = !urgent_model.empty() ? urgent_model : background_model;
        if (!model.empty()) {
          expected = model.front().name;
          if (--model.front().chunks_left == 0) model.erase(model.begin());
        }
        ASSERT_EQ(dispatch_one_chunk(queue), expected);
      }
      ASSERT_EQ(queue.size(), urgent_model.size() + background_model.size());
    }
  }
}

}  // namespace
}  // namespace ghtier::detail
