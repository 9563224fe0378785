// CPU tests (CI) of where the kernels' own memory comes from: DeviceBuffer over a counting resource
// (sizes, alignment, stream, exactly one free, moves, refusals under a budget), the settable default device
// resource, and kernel entry points that refuse bad arguments before taking any memory.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <utility>
#include <vector>

#include "ghtier/error.hpp"
#include "ghtier/kernels/aggregate.hpp"
#include "ghtier/kernels/gather.hpp"
#include "ghtier/kernels/group_by.hpp"
#include "ghtier/kernels/hash_join.hpp"
#include "ghtier/kernels/row_cache.hpp"
#include "ghtier/kernels/scatter.hpp"
#include "ghtier/kernels/sorted_gather.hpp"
#include "ghtier/memory/budget_adaptor.hpp"
#include "ghtier/memory/default_device_resource.hpp"
#include "ghtier/memory/device_buffer.hpp"
#include "ghtier/memory/statistics_adaptor.hpp"
#include "ghtier/runtime/runtime.hpp"
#include "runtime/fake_resource.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

// Host memory that stands in for a device resource on the CPU and records every call.
class CountingResource final : public MemoryResource {
 public:
  explicit CountingResource(MemoryMode mode = MemoryMode::device) : mode_(mode) {}
  ~CountingResource() override {
    for (auto& [p, call] : live) std::free(p);
  }

  struct Call {
    std::size_t bytes = 0;
    std::size_t alignment = 0;
    cudaStream_t stream = nullptr;
    bool synchronous = false;
  };
  std::map<void*, Call> live;
  int allocations = 0;
  int frees = 0;
  int mismatched_frees = 0;  // freed with another size, alignment, stream or form than allocated

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) override {
    void* p = std::aligned_alloc(alignment, (bytes + alignment - 1) / alignment * alignment);
    if (p == nullptr) throw std::bad_alloc();
    ++allocations;
    live[p] = Call{bytes, alignment, stream, synchronous};
    return p;
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                     bool synchronous) noexcept override {
    ++frees;
    const auto it = live.find(p);
    if (it == live.end()) {
      ++mismatched_frees;
      return;
    }
    const Call& call = it->second;
    if (call.bytes != bytes || call.alignment != alignment || call.synchronous != synchronous ||
        (!synchronous && call.stream != stream)) {
      ++mismatched_frees;
    }
    std::free(p);
    live.erase(it);
  }
  [[nodiscard]] MemoryMode do_mode() const noexcept override { return mode_; }

  MemoryMode mode_;
};

cudaStream_t fake_stream(std::uintptr_t n) { return reinterpret_cast<cudaStream_t>(n); }

TEST(DeviceBuffer, StreamOrderedTakesAndGivesBackOnItsStream) {
  CountingResource resource;
  {
    const DeviceBuffer buffer(1000, fake_stream(0x40), resource);
    ASSERT_EQ(resource.allocations, 1);
    ASSERT_EQ(resource.live.size(), 1u);
    const auto& [p, call] = *resource.live.begin();
    EXPECT_EQ(buffer.data(), p);
    EXPECT_EQ(buffer.size(), 1000u);
    EXPECT_EQ(call.bytes, 1000u);
    EXPECT_EQ(call.alignment, default_alignment);
    EXPECT_EQ(call.stream, fake_stream(0x40));
    EXPECT_FALSE(call.synchronous);
    EXPECT_TRUE(buffer.stream_ordered());
    EXPECT_EQ(buffer.resource(), &resource);
  }
  EXPECT_EQ(resource.frees, 1);
  EXPECT_EQ(resource.mismatched_frees, 0);
  EXPECT_TRUE(resource.live.empty());
}

TEST(DeviceBuffer, MovesHandOverOwnershipAndFreeOnce) {
  CountingResource resource;
  {
    DeviceBuffer a(64, fake_stream(1), resource);
    void* const p = a.data();
    DeviceBuffer b(std::move(a));
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
    EXPECT_EQ(a.resource(), nullptr);
    EXPECT_EQ(b.data(), p);
    DeviceBuffer c(128, fake_stream(2), resource);
    c = std::move(b);  // frees c's own 128 bytes first, on its own stream
    EXPECT_EQ(resource.frees, 1);
    EXPECT_EQ(c.data(), p);
    EXPECT_EQ(c.size(), 64u);
    DeviceBuffer& same = c;  // through a reference: a direct self-move is a compile error under -Werror
    c = std::move(same);     // self-move keeps the memory
    EXPECT_EQ(c.data(), p);
  }
  EXPECT_EQ(resource.allocations, 2);
  EXPECT_EQ(resource.frees, 2);
  EXPECT_EQ(resource.mismatched_frees, 0);
}

TEST(DeviceBuffer, ZeroBytesTakesNothing) {
  CountingResource resource;
  {
    const DeviceBuffer empty(0, fake_stream(1), resource);
    EXPECT_TRUE(empty.empty());
  }
  EXPECT_EQ(resource.allocations, 0);
  EXPECT_EQ(resource.frees, 0);
}

TEST(DeviceBuffer, RefusesSystemMemoryBeforeAllocating) {
  CountingResource system(MemoryMode::system);
  EXPECT_GHTIER_ERROR(DeviceBuffer(64, nullptr, system), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)DeviceBuffer::device_wide(64, system), ErrorCode::invalid_argument);
  EXPECT_EQ(system.allocations, 0);
  for (const MemoryMode mode : {MemoryMode::pinned_host, MemoryMode::managed}) {
    CountingResource reachable(mode);
    { const DeviceBuffer buffer(64, nullptr, reachable); }
    EXPECT_EQ(reachable.allocations, 1);
    EXPECT_EQ(reachable.frees, 1);
  }
}

// The stack a Runtime puts over a tier: a refusal is an out_of_budget bad_alloc, the statistics see every
// byte and return to zero.
TEST(DeviceBuffer, BudgetRefusesAndStatisticsReturnToZero) {
  CountingResource upstream;
  BudgetAdaptor budget(upstream, 4096);
  StatisticsAdaptor statistics(budget);
  {
    const DeviceBuffer a(3000, fake_stream(7), statistics);
    EXPECT_EQ(statistics.statistics().current_bytes, 3000u);
    EXPECT_EQ(budget.used(), 3000u);
    bool refused_as_bad_alloc = false;
    try {
      const DeviceBuffer b(2000, fake_stream(7), statistics);
    } catch (const std::bad_alloc&) {
      refused_as_bad_alloc = true;
    }
    EXPECT_TRUE(refused_as_bad_alloc);
    EXPECT_GHTIER_ERROR(DeviceBuffer(2000, fake_stream(7), statistics), ErrorCode::out_of_budget);
    EXPECT_EQ(upstream.allocations, 1);  // the refusals never reached the upstream
    const DeviceBuffer c(1096, fake_stream(8), statistics);
    EXPECT_EQ(budget.available(), 0u);
  }
  const AllocationStatistics counters = statistics.statistics();
  EXPECT_EQ(counters.current_bytes, 0u);
  EXPECT_EQ(counters.current_allocations, 0u);
  EXPECT_EQ(counters.total_allocations, 2u);
  EXPECT_EQ(counters.peak_bytes, 4096u);
  EXPECT_EQ(counters.failed_allocations, 2u);
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(upstream.mismatched_frees, 0);
}

TEST(DefaultDeviceResource, IsSettableAndRestorable) {
  MemoryResource& built_in = default_device_resource();
  EXPECT_EQ(built_in.mode(), MemoryMode::device);
  CountingResource resource;
  EXPECT_EQ(set_default_device_resource(&resource), &built_in);
  EXPECT_EQ(&default_device_resource(), &resource);
  {
    const DeviceBuffer buffer(256, fake_stream(3));  // the default argument is read at the call
    EXPECT_EQ(buffer.resource(), &resource);
  }
  EXPECT_EQ(resource.allocations, 1);
  EXPECT_EQ(resource.frees, 1);
  EXPECT_EQ(set_default_device_resource(nullptr), &resource);
  EXPECT_EQ(&default_device_resource(), &built_in);
}

// Argument errors come before any memory is taken from the caller's resource.
TEST(KernelResources, BadArgumentsTakeNoMemory) {
  CountingResource resource;
  const std::vector<std::int64_t> indices{0, 1};
  std::vector<unsigned char> out(64);
  EXPECT_GHTIER_ERROR(gather(out.data(), 0, 4, indices.data(), 2, out.data(), nullptr, nullptr, resource),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(sorted_gather(nullptr, 8, 4, indices.data(), 2, out.data(), nullptr, nullptr, resource),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(scatter(out.data(), 8, 2, indices.data(), nullptr, 4, nullptr, nullptr, resource),
                      ErrorCode::invalid_argument);
  const std::vector<float> floats(16);
  EXPECT_GHTIER_ERROR(HashJoinTable(column_view(floats.data(), floats.size()), std::nullopt, nullptr, {}, resource),
                      ErrorCode::invalid_argument);
  const std::vector<std::int32_t> keys(16);
  HashJoinOptions tiny;
  tiny.max_load_factor = 1e-300;
  EXPECT_GHTIER_ERROR(HashJoinTable(column_view(keys.data(), keys.size()), std::nullopt, nullptr, tiny, resource),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)group_by(column_view(keys.data(), keys.size()), column_view(keys.data(), keys.size()), 0,
                                     {}, nullptr, resource),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)aggregate(ColumnView{nullptr, 5, ColumnType::int32}, {}, nullptr, resource),
                      ErrorCode::invalid_argument);
  const std::vector<std::int64_t> hot{0, 0};
  EXPECT_GHTIER_ERROR(RowCache(out.data(), 8, 4, hot, nullptr, resource), ErrorCode::invalid_argument);
  EXPECT_EQ(resource.allocations, 0);
}

// A runtime's device tier, as the kernels get it: budgeted, counted and tracked like the runtime's own
// buffers (CPU memory posing as the device through the runtime's fake-resource constructor).
TEST(RuntimeResource, KernelMemoryCountsInTheDeviceTier) {
  auto device = std::make_shared<test::FakeResource>(MemoryMode::device);
  RuntimeOptions options;
  options.device_budget = 10'000;
  Runtime runtime(assume_platform("x86-h100-pcie"), RuntimeResources{device, nullptr, nullptr, nullptr}, options);
  MemoryResource& tier = runtime.resource(MemoryMode::device);
  EXPECT_EQ(tier.mode(), MemoryMode::device);
  {
    const DeviceBuffer table(6000, fake_stream(5), tier);
    EXPECT_EQ(runtime.budget_used(MemoryMode::device), 6000u);
    EXPECT_EQ(runtime.statistics(MemoryMode::device).current_bytes, 6000u);
    EXPECT_EQ(runtime.live_allocations().size(), 1u);
    EXPECT_TRUE(runtime.find(static_cast<const char*>(table.data()) + 100).has_value());
    EXPECT_GHTIER_ERROR(DeviceBuffer(5000, fake_stream(5), tier), ErrorCode::out_of_budget);
    EXPECT_EQ(device->allocations(), 1u);
  }
  EXPECT_EQ(runtime.budget_used(MemoryMode::device), 0u);
  EXPECT_EQ(runtime.statistics(MemoryMode::device).current_bytes, 0u);
  EXPECT_EQ(runtime.statistics(MemoryMode::device).failed_allocations, 1u);
  EXPECT_TRUE(runtime.live_allocations().empty());
  EXPECT_EQ(device->live_bytes(), 0u);
  EXPECT_EQ(device->bad_frees(), 0u);
  // A mode the runtime has no resource for refuses; so does a mode outside the enum.
  EXPECT_GHTIER_ERROR(DeviceBuffer(64, nullptr, runtime.resource(MemoryMode::managed)), ErrorCode::unsupported);
  EXPECT_GHTIER_ERROR((void)runtime.resource(static_cast<MemoryMode>(42)), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace ghtier
