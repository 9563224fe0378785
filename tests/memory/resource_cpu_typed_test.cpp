// The shared typed suite (resource_typed_cases.hpp) on the resources that need no GPU: the system mode and
// the three adaptors over a malloc-backed fake upstream. Runs in CI.
#include <cstring>

#include "fake_upstream.hpp"
#include "ghtier/memory/budget_adaptor.hpp"
#include "ghtier/memory/statistics_adaptor.hpp"
#include "ghtier/memory/system_resource.hpp"
#include "ghtier/memory/tracking_adaptor.hpp"
#include "resource_typed_cases.hpp"

namespace ghtier::test {
namespace {

struct CpuCopy {
  static void copy(void* dst, const void* src, std::size_t n) { std::memcpy(dst, src, n); }
};

struct SystemPlain : CpuCopy {
  static constexpr MemoryMode mode = MemoryMode::system;
  static constexpr bool needs_gpu = false;
  SystemResource r{SystemOptions{.huge_pages = false}};
  MemoryResource& resource() { return r; }
};

struct SystemHugePopulated : CpuCopy {
  static constexpr MemoryMode mode = MemoryMode::system;
  static constexpr bool needs_gpu = false;
  SystemResource r{SystemOptions{.huge_pages = true, .populate = true, .populate_threads = 4}};
  MemoryResource& resource() { return r; }
};

struct BudgetOverFake : CpuCopy {
  static constexpr MemoryMode mode = MemoryMode::device;
  static constexpr bool needs_gpu = false;
  FakeUpstream upstream{MemoryMode::device};
  BudgetAdaptor r{upstream, std::size_t{1} << 40};
  MemoryResource& resource() { return r; }
};

struct StatisticsOverFake : CpuCopy {
  static constexpr MemoryMode mode = MemoryMode::pinned_host;
  static constexpr bool needs_gpu = false;
  FakeUpstream upstream{MemoryMode::pinned_host};
  StatisticsAdaptor r{upstream};
  MemoryResource& resource() { return r; }
};

struct TrackingOverFake : CpuCopy {
  static constexpr MemoryMode mode = MemoryMode::managed;
  static constexpr bool needs_gpu = false;
  FakeUpstream upstream{MemoryMode::managed};
  TrackingAdaptor r{upstream};
  MemoryResource& resource() { return r; }
};

using CpuEnvironments =
    ::testing::Types<SystemPlain, SystemHugePopulated, BudgetOverFake, StatisticsOverFake, TrackingOverFake>;
INSTANTIATE_TYPED_TEST_SUITE_P(Cpu, ResourceTypedTest, CpuEnvironments);

}  // namespace
}  // namespace ghtier::test
