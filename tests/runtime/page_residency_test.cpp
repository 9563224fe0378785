// PageTally (pure) and the move_pages query on real memory of this process (no GPU needed).
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/runtime/page_residency.hpp"
#include "test_support.hpp"

using namespace ghtier;
using ghtier::detail::PageTally;

TEST(PageTally, OneNodeIsHostWithThatNode) {
  PageTally t;
  t.add(0, 4096);
  t.add(0, 100);
  const Residency r = t.result(-1);
  EXPECT_EQ(r.where, ResidencyKind::host);
  EXPECT_EQ(r.numa_node, 0);
  EXPECT_EQ(r.host_bytes, 4196u);
  EXPECT_EQ(r.source, ResidencySource::page_query);
  EXPECT_FALSE(r.approximate());
}

TEST(PageTally, TwoHostNodesHaveNoSingleNode) {
  PageTally t;
  t.add(0, 10);
  t.add(2, 20);
  const Residency r = t.result(-1);
  EXPECT_EQ(r.where, ResidencyKind::host);
  EXPECT_EQ(r.numa_node, -1);
  EXPECT_EQ(r.host_bytes, 30u);
}

TEST(PageTally, GpuNumaNodeCountsAsDevice) {
  // GH200: HBM is NUMA node 1 of the OS; pages there are in the GPU's memory.
  PageTally all_device;
  all_device.add(1, 4096);
  EXPECT_EQ(all_device.result(1).where, ResidencyKind::device);
  EXPECT_EQ(all_device.result(1).device_bytes, 4096u);
  PageTally mixed;
  mixed.add(1, 4096);
  mixed.add(0, 8192);
  mixed.add(-ENOENT, 4096);
  const Residency r = mixed.result(1);
  EXPECT_EQ(r.where, ResidencyKind::mixed);
  EXPECT_EQ(r.device_bytes, 4096u);
  EXPECT_EQ(r.host_bytes, 8192u);
  EXPECT_EQ(r.unknown_bytes, 4096u);
  EXPECT_EQ(r.numa_node, 0);
  // Without a GPU node, node 1 is just another host node.
  EXPECT_EQ(mixed.result(-1).where, ResidencyKind::host);
}

TEST(PageTally, UnpopulatedAndUnknown) {
  PageTally none;
  none.add(-ENOENT, 4096);
  EXPECT_EQ(none.result(-1).where, ResidencyKind::not_populated);
  PageTally odd;
  odd.add(-EFAULT, 4096);
  odd.add(-ENOENT, 4096);
  EXPECT_EQ(odd.result(-1).where, ResidencyKind::unknown);
  EXPECT_EQ(odd.result(-1).unknown_bytes, 8192u);
  EXPECT_EQ(PageTally{}.result(-1).where, ResidencyKind::unknown);
}

TEST(PageQuery, SeesFirstTouch) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t pages = 300;
  void* p = mmap(nullptr, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  auto* bytes = static_cast<unsigned char*>(p);
  const Residency untouched = detail::query_page_residency(p, pages * page, -1);
  EXPECT_EQ(untouched.where, ResidencyKind::not_populated);
  EXPECT_EQ(untouched.unknown_bytes, pages * page);
  // Touch every third page, fresh random offsets.
  auto rng = ghtier::test::fresh_rng();
  std::size_t touched = 0;
  for (std::size_t i = 0; i < pages; i += 3) {
    bytes[i * page + rng() % page] = 1;
    ++touched;
  }
  const Residency some = detail::query_page_residency(p, pages * page, -1);
  EXPECT_EQ(some.where, ResidencyKind::host);
  EXPECT_EQ(some.host_bytes, touched * page);
  EXPECT_EQ(some.unknown_bytes, (pages - touched) * page);
  EXPECT_GE(some.numa_node, 0);
  // A range that starts and ends inside pages counts only its own bytes.
  const Residency partial = detail::query_page_residency(bytes + 10, page, -1);
  EXPECT_EQ(partial.host_bytes + partial.unknown_bytes, page);
  EXPECT_EQ(partial.host_bytes, page - 10);  // page 0 touched, page 1 not
  munmap(p, pages * page);
}
