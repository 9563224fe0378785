// WeightStreamer on the GPU: layers of random tensors (odd sizes, fresh random data) in pinned host memory,
// streamed through the ring in forward order, in reverse (backward), in random orders and subsets (urgent
// copies), each acquired layer copied device-to-device on the caller's stream into poisoned buffers and
// compared byte for byte with the host weights; budget changes while idle (promote, demote, same outputs);
// refusals: a budget below the minimum (named), an unknown layer, a release twice, set_budget while a layer
// is acquired.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "ghtier/error.hpp"
#include "ghtier/workloads/weight_streamer.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

constexpr std::size_t KiB = std::size_t{1} << 10;

class WeightStreamerGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    GHTIER_REQUIRE_GPU();
    rng_ = test::fresh_rng();
    runtime_ = std::make_unique<Runtime>();
    engine_ = std::make_unique<TransferEngine>(runtime_->platform(), runtime_->device(), runtime_.get());
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
    // 8 layers of 1..3 tensors of odd sizes (256..700 KiB, so that no layer holds most of the bytes), random bytes, in
    // pinned host memory.
    std::uniform_int_distribution<std::size_t> tensors(1, 3), bytes(256 * KiB, 700 * KiB);
    std::uniform_int_distribution<int> byte(0, 255);
    for (std::size_t l = 0; l < 8; ++l) {
      WeightLayer layer;
      for (std::size_t t = tensors(rng_); t > 0; --t) {
        Buffer host = runtime_->allocate_in(MemoryMode::pinned_host, bytes(rng_) | 1);
        auto* p = static_cast<unsigned char*>(host.data());
        for (std::size_t i = 0; i < host.size(); ++i) p[i] = static_cast<unsigned char>(byte(rng_));
        layer.tensors.push_back({host.data(), host.size()});
        host_.push_back(std::move(host));
      }
      layers_.push_back(layer);
      total_ += layer_bytes(layer);
    }
  }
  void TearDown() override {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  static std::size_t layer_bytes(const WeightLayer& l) {
    std::size_t n = 0;
    for (const WeightTensor& t : l.tensors) n += (t.bytes + 255) / 256 * 256;
    return n;
  }
  std::size_t largest() const {
    std::size_t n = 0;
    for (const WeightLayer& l : layers_) n = std::max(n, layer_bytes(l));
    return n;
  }

  // Acquires `layer`, copies every tensor on stream_ into a poisoned device buffer, releases; then checks
  // the copies against the host weights once the stream is done.
  void use_and_check(WeightStreamer& streamer, std::size_t layer) {
    const std::vector<void*> pointers = streamer.acquire(layer, stream_);
    const WeightLayer& l = layers_[layer];
    ASSERT_EQ(pointers.size(), l.tensors.size());
    std::vector<Buffer> outputs;
    for (std::size_t t = 0; t < l.tensors.size(); ++t) {
      Buffer out = runtime_->allocate_in(MemoryMode::device, l.tensors[t].bytes);
      ASSERT_EQ(cudaMemsetAsync(out.data(), 0xA5, out.size(), stream_), cudaSuccess);
      ASSERT_EQ(cudaMemcpyAsync(out.data(), pointers[t], l.tensors[t].bytes, cudaMemcpyDefault, stream_), cudaSuccess);
      outputs.push_back(std::move(out));
    }
    streamer.release(layer, stream_);
    ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    for (std::size_t t = 0; t < l.tensors.size(); ++t) {
      std::vector<unsigned char> got(l.tensors[t].bytes);
      ASSERT_EQ(cudaMemcpy(got.data(), outputs[t].data(), got.size(), cudaMemcpyDeviceToHost), cudaSuccess);
      ASSERT_EQ(std::memcmp(got.data(), l.tensors[t].host, got.size()), 0) << "layer " << layer << " tensor " << t;
    }
  }

  std::mt19937_64 rng_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<TransferEngine> engine_;
  cudaStream_t stream_ = nullptr;
  std::vector<Buffer> host_;
  std::vector<WeightLayer> layers_;
  std::size_t total_ = 0;
};

TEST_F(WeightStreamerGpu, ForwardAndBackwardPassesDeliverTheWeights) {
  const std::size_t budget = std::min(total_ / 4 + 3 * largest(), total_ - 1);  // never all resident
  WeightStreamer streamer(*runtime_, *engine_, layers_,
                          {.device_budget_bytes = budget, .in_place = WeightInPlaceReads::off});
  EXPECT_GE(streamer.plan().ring_slots, 1u);
  for (int pass = 0; pass < 3; ++pass) {
    for (std::size_t l = 0; l < layers_.size(); ++l) use_and_check(streamer, l);
  }
  std::vector<std::size_t> reverse(layers_.size());
  std::iota(reverse.rbegin(), reverse.rend(), std::size_t{0});
  streamer.set_order(reverse);
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t l : reverse) use_and_check(streamer, l);
  }
  const WeightStreamerStatistics st = streamer.statistics();
  EXPECT_EQ(st.acquires, 5u * layers_.size());
  EXPECT_LE(st.device_bytes, budget);
}

// Overlapping use on the stream without host syncs between layers: each layer's outputs are checked at the
// end, so a slot overwritten before its user finished would show.
TEST_F(WeightStreamerGpu, BackToBackPassesWithoutHostSyncs) {
  WeightStreamer streamer(*runtime_, *engine_, layers_, {.device_budget_bytes = 2 * largest()});
  std::vector<std::pair<std::size_t, Buffer>> outputs;
  for (int pass = 0; pass < 3; ++pass) {
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const std::vector<void*> pointers = streamer.acquire(l, stream_);
      Buffer out = runtime_->allocate_in(MemoryMode::device, layers_[l].tensors[0].bytes);
      ASSERT_EQ(cudaMemsetAsync(out.data(), 0x5A, out.size(), stream_), cudaSuccess);
      ASSERT_EQ(cudaMemcpyAsync(out.data(), pointers[0], out.size(), cudaMemcpyDefault, stream_), cudaSuccess);
      streamer.release(l, stream_);
      outputs.emplace_back(l, std::move(out));
    }
  }
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  for (const auto& [l, out] : outputs) {
    std::vector<unsigned char> got(out.size());
    ASSERT_EQ(cudaMemcpy(got.data(), out.data(), got.size(), cudaMemcpyDeviceToHost), cudaSuccess);
    ASSERT_EQ(std::memcmp(got.data(), layers_[l].tensors[0].host, got.size()), 0) << "layer " << l;
  }
}

TEST_F(WeightStreamerGpu, ChangedOrdersUseUrgentCopiesAndStayCorrect) {
  WeightStreamer streamer(*runtime_, *engine_, layers_,
                          {.device_budget_bytes = 2 * largest(), .in_place = WeightInPlaceReads::off});
  std::vector<std::size_t> order(layers_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  for (int pass = 0; pass < 4; ++pass) {
    std::shuffle(order.begin(), order.end(), rng_);
    const std::size_t used = std::uniform_int_distribution<std::size_t>(1, order.size())(rng_);
    for (std::size_t i = 0; i < used; ++i) use_and_check(streamer, order[i]);
  }
  EXPECT_GT(streamer.statistics().urgent_copies, 0u);
}

TEST_F(WeightStreamerGpu, BudgetChangesWhileIdleKeepTheOutputs) {
  WeightStreamer streamer(*runtime_, *engine_, layers_, {.device_budget_bytes = 2 * largest()});
  for (std::size_t l = 0; l < layers_.size(); ++l) use_and_check(streamer, l);
  const std::size_t slot_before = streamer.statistics().slot_bytes;
  const std::size_t resident_before = streamer.statistics().resident_layers;
  EXPECT_EQ(streamer.statistics().promoted_layers, 0u);  // the first plan's residents are no promotion
  streamer.set_budget(total_ + largest());               // everything fits: all resident
  EXPECT_EQ(streamer.statistics().resident_layers, layers_.size());
  EXPECT_EQ(streamer.statistics().promoted_layers, layers_.size() - resident_before);
  for (std::size_t l = 0; l < layers_.size(); ++l) use_and_check(streamer, l);
  streamer.set_budget(total_ / 4 + largest());
  EXPECT_LT(streamer.statistics().resident_layers, layers_.size());
  EXPECT_GT(streamer.statistics().demoted_layers, 0u);
  EXPECT_EQ(streamer.statistics().slot_bytes, slot_before);
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t l = 0; l < layers_.size(); ++l) use_and_check(streamer, l);
  }
  EXPECT_EQ(streamer.statistics().budget_changes, 2u);
  EXPECT_GT(streamer.statistics().last_budget_change_seconds, 0.0);
}

TEST_F(WeightStreamerGpu, Refusals) {
  try {
    WeightStreamer tiny(*runtime_, *engine_, layers_,
                        {.device_budget_bytes = largest() - 1, .in_place = WeightInPlaceReads::off});
    FAIL() << "a budget below one slot was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::out_of_budget);
    EXPECT_NE(std::string(e.what()).find(std::to_string(largest())), std::string::npos) << e.what();
  }
  EXPECT_THROW(WeightStreamer(*runtime_, *engine_, {}, {.device_budget_bytes = 1}), Error);
  std::vector<WeightLayer> null_tensor = layers_;
  null_tensor[2].tensors[0].host = nullptr;
  EXPECT_THROW(WeightStreamer(*runtime_, *engine_, null_tensor, {.device_budget_bytes = total_}), Error);

  WeightStreamer streamer(*runtime_, *engine_, layers_,
                          {.device_budget_bytes = 2 * largest(), .in_place = WeightInPlaceReads::off});
  EXPECT_THROW((void)streamer.acquire(layers_.size(), stream_), Error);  // unknown layer
  EXPECT_THROW(streamer.release(0, stream_), Error);                     // never acquired
  (void)streamer.acquire(0, stream_);
  EXPECT_THROW(streamer.set_budget(total_), Error);  // a layer is acquired
  streamer.release(0, stream_);
  EXPECT_THROW(streamer.release(0, stream_), Error);  // twice
  EXPECT_THROW(streamer.set_budget(largest() - 1), std::bad_alloc);
  EXPECT_EQ(streamer.statistics().budget_changes, 0u);  // the refused budget changed nothing
  for (std::size_t l = 0; l < layers_.size(); ++l) use_and_check(streamer, l);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
}

}  // namespace
}  // namespace ghtier
