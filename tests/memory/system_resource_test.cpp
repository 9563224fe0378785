// SystemResource on the CPU (runs anywhere, CI included): options, huge-page sizing, population (checked
// with mincore), NUMA binding (checked with get_mempolicy), and bad nodes.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/memory/host_mapping.hpp"
#include "core/memory/numa_binding.hpp"
#include "ghtier/memory/system_resource.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

constexpr int mpol_bind = 2;
constexpr int mpol_preferred = 1;
constexpr unsigned long mpol_f_addr = 1UL << 1;

/// Fraction of the pages of [p, p + bytes) that are resident (mincore).
double resident_fraction(void* p, std::size_t bytes) {
  const std::size_t page = detail::base_page_bytes();
  std::vector<unsigned char> vec((bytes + page - 1) / page);
  if (mincore(p, bytes, vec.data()) != 0) return -1;
  std::size_t resident = 0;
  for (unsigned char v : vec) resident += v & 1;
  return static_cast<double>(resident) / static_cast<double>(vec.size());
}

TEST(SystemResource, RefusesBadOptions) {
  EXPECT_GHTIER_ERROR(SystemResource(SystemOptions{.numa_node = -2}), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(SystemResource(SystemOptions{.populate_threads = -1}), ErrorCode::invalid_argument);
}

TEST(SystemResource, LargeAllocationsAreHugePageAlignedSmallOnesPageAligned) {
  SystemResource resource;
  void* big = resource.allocate(5 << 20);
  EXPECT_TRUE(reinterpret_cast<std::uintptr_t>(big) % detail::huge_page_bytes == 0);
  void* small = resource.allocate(100);
  EXPECT_TRUE(reinterpret_cast<std::uintptr_t>(small) % detail::base_page_bytes() == 0);
  std::memset(big, 1, 5 << 20);
  std::memset(small, 2, 100);
  resource.deallocate(big, 5 << 20);
  resource.deallocate(small, 100);
}

TEST(SystemResource, PopulatesOnlyWhenAsked) {
  constexpr std::size_t bytes = std::size_t{256} << 20;
  SystemResource lazy(SystemOptions{.huge_pages = false});
  void* p = lazy.allocate(bytes);
  EXPECT_LT(resident_fraction(p, bytes), 0.01) << "an unpopulated allocation was faulted in";
  lazy.deallocate(p, bytes);

  SystemResource populated(SystemOptions{.huge_pages = false, .populate = true, .populate_threads = 8});
  void* q = populated.allocate(bytes);
  EXPECT_EQ(resident_fraction(q, bytes), 1.0) << "populate left pages out";
  populated.deallocate(q, bytes);
}

TEST(SystemResource, UnmapsOnDeallocate) {
  SystemResource resource(SystemOptions{.huge_pages = false});
  const std::size_t bytes = 8 * detail::base_page_bytes();
  void* p = resource.allocate(bytes);
  std::memset(p, 7, bytes);
  resource.deallocate(p, bytes);
  std::vector<unsigned char> vec(8);
  EXPECT_NE(mincore(p, bytes, vec.data()), 0) << "the range is still mapped after deallocate";
  EXPECT_EQ(errno, ENOMEM);
}

/// The policy of the page at p (get_mempolicy with MPOL_F_ADDR), or -1 with errno when it cannot be read.
int policy_of(void* p, unsigned long* nodemask) {
  int mode = -1;
  if (syscall(SYS_get_mempolicy, &mode, nodemask, 64 * 8 + 1, p, mpol_f_addr) != 0) return -1;
  return mode;
}

TEST(SystemResource, BindsToTheChosenNode) {
  for (bool strict : {true, false}) {
    SystemResource resource(SystemOptions{.numa_node = 0, .strict_numa = strict, .populate = true});
    void* p = nullptr;
    try {
      p = resource.allocate(4 << 20);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::unsupported) GTEST_SKIP() << "NUMA policy is not permitted here: " << e.what();
      throw;
    }
    unsigned long mask[64] = {};
    const int mode = policy_of(p, mask);
    if (mode < 0) {
      const int error = errno;
      resource.deallocate(p, 4 << 20);
      GTEST_SKIP() << "get_mempolicy is not permitted here: " << std::strerror(error);
    }
    EXPECT_EQ(mode, strict ? mpol_bind : mpol_preferred);
    EXPECT_EQ(mask[0] & 1UL, 1UL) << "node 0 is not in the policy's mask";
    EXPECT_EQ(mask[0] & ~1UL, 0UL) << "the policy names other nodes too";
    resource.deallocate(p, 4 << 20);
  }
}

TEST(SystemResource, RefusesANodeThatDoesNotExist) {
  SystemResource resource(SystemOptions{.numa_node = 4000});
  try {
    void* p = resource.allocate(1 << 20);
    resource.deallocate(p, 1 << 20);
    ADD_FAILURE() << "binding to NUMA node 4000 succeeded";
  } catch (const Error& e) {
    if (e.code() == ErrorCode::unsupported) GTEST_SKIP() << "NUMA policy is not permitted here: " << e.what();
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
    EXPECT_NE(std::string(e.what()).find("4000"), std::string::npos) << e.what();
  }
  EXPECT_GHTIER_ERROR(detail::bind_to_numa_node(nullptr, 0, 5000, true, "test"), ErrorCode::invalid_argument);
}

TEST(SystemResource, CountsNumaNodes) { EXPECT_GE(detail::host_numa_node_count(), 1); }

}  // namespace
}  // namespace ghtier
