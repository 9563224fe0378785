// A relocation that fails keeps the old allocation valid and owned by the caller, in C++ (Runtime::relocate_to)
// and in C (ghtier_memory_relocate): the target tier refuses (capacity, budget), the copy cannot start (the runtime's
// device cannot be made current), or the C API's table cannot allocate while it puts the old pointer back.
// Over fake CPU resources: no GPU needed.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <random>
#include <unordered_map>
#include <vector>

#include "capi/c_api_runtime.hpp"
#include "fake_resource.hpp"
#include "ghtier/ghtier.h"
#include "ghtier/runtime/runtime.hpp"
#include "test_support.hpp"

// ---- operator new that fails once for one size (armed by a test) -----------------------------------------
// Replacing the global operator new is the one way to make a table insertion fail on demand.

namespace {
std::atomic<std::size_t> fail_next_new_of_size{0};
std::atomic<std::size_t> last_new_size{0};

void* counted_new(std::size_t bytes) {
  last_new_size.store(bytes, std::memory_order_relaxed);
  std::size_t armed = bytes;
  if (bytes != 0 && fail_next_new_of_size.compare_exchange_strong(armed, 0)) throw std::bad_alloc();
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t bytes) { return counted_new(bytes); }
void* operator new[](std::size_t bytes) { return counted_new(bytes); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace ghtier;
using ghtier::test::FakeResource;

namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;
constexpr int no_such_device = 1 << 20;

struct Fakes {
  std::shared_ptr<FakeResource> device = std::make_shared<FakeResource>(MemoryMode::device);
  std::shared_ptr<FakeResource> pinned;
  std::shared_ptr<FakeResource> managed = std::make_shared<FakeResource>(MemoryMode::managed);
  std::shared_ptr<FakeResource> system = std::make_shared<FakeResource>(MemoryMode::system);
  explicit Fakes(std::size_t pinned_capacity = std::numeric_limits<std::size_t>::max())
      : pinned(std::make_shared<FakeResource>(MemoryMode::pinned_host, pinned_capacity)) {}
  RuntimeResources resources() const { return {device, pinned, managed, system}; }
};

// The PCIe profile: a pinned or device placement needs no CUDA call, so the fakes serve it without a GPU.
Platform pcie() { return assume_platform("x86-h100-pcie"); }

std::vector<unsigned char> random_bytes(std::size_t n) {
  std::mt19937_64 rng(std::random_device{}());
  std::vector<unsigned char> v(n);
  for (auto& b : v) b = static_cast<unsigned char>(rng());
  return v;
}

// The old buffer after a failed relocation: same pointer and bytes, still this runtime's, not freed.
void expect_untouched(const Runtime& runtime, const Buffer& buffer, const void* before,
                      const std::vector<unsigned char>& contents, const FakeResource& owner) {
  ASSERT_EQ(owner.frees(), 0u) << "the old allocation was freed";
  EXPECT_EQ(buffer.data(), before);
  ASSERT_EQ(buffer.size(), contents.size());
  EXPECT_EQ(buffer.mode(), MemoryMode::device);
  EXPECT_EQ(std::memcmp(buffer.data(), contents.data(), contents.size()), 0);
  const auto record = runtime.find(buffer.data());
  ASSERT_TRUE(record.has_value()) << "the runtime no longer tracks the old allocation";
  EXPECT_EQ(record->base, buffer.data());
  EXPECT_EQ(owner.live_bytes(), contents.size());
}

TEST(RelocateFailure, ATargetThatRefusesLeavesTheBufferAsItWas) {
  Fakes f(/*pinned_capacity=*/MiB);
  Runtime runtime(pcie(), f.resources());
  Buffer b = runtime.allocate_in(MemoryMode::device, 2 * MiB);
  const auto contents = random_bytes(b.size());
  std::memcpy(b.data(), contents.data(), contents.size());
  void* const before = b.data();

  EXPECT_GHTIER_ERROR(b = runtime.relocate_to(std::move(b), MemoryMode::pinned_host), ErrorCode::out_of_memory);
  expect_untouched(runtime, b, before, contents, *f.device);

  runtime.set_budget(MemoryMode::system, MiB);
  EXPECT_GHTIER_ERROR(b = runtime.relocate_to(std::move(b), MemoryMode::system), ErrorCode::out_of_budget);
  expect_untouched(runtime, b, before, contents, *f.device);
  EXPECT_EQ(f.system->allocations(), 0u);
}

TEST(RelocateFailure, ACopyThatCannotStartFreesTheNewAllocationAndKeepsTheOld) {
  Fakes f;
  RuntimeOptions options;
  options.device = no_such_device;  // the copy's device cannot be made current: it fails after the allocation
  Runtime runtime(pcie(), f.resources(), options);
  Buffer b = runtime.allocate_in(MemoryMode::device, MiB);
  const auto contents = random_bytes(b.size());
  std::memcpy(b.data(), contents.data(), contents.size());
  void* const before = b.data();

  // No such device: invalid_argument where GPUs exist, no_device (or cuda_error without a driver) elsewhere.
  try {
    b = runtime.relocate_to(std::move(b), MemoryMode::pinned_host);
    ADD_FAILURE() << "relocate_to succeeded on a device that does not exist";
  } catch (const Error& e) {
    EXPECT_TRUE(e.code() == ErrorCode::invalid_argument || e.code() == ErrorCode::no_device ||
                e.code() == ErrorCode::cuda_error)
        << e.what();
  }
  expect_untouched(runtime, b, before, contents, *f.device);
  EXPECT_EQ(f.pinned->allocations(), 1u) << "the target was allocated before the copy";
  EXPECT_EQ(f.pinned->live_bytes(), 0u) << "the target of the failed copy leaked";
}

// ---- the C API ---------------------------------------------------------------------------------------------

// The size of one node of the C API's table of allocations (an unordered_map from pointer to Buffer),
// measured rather than assumed: a reserved map allocates exactly one node on an insertion.
std::size_t table_node_bytes() {
  std::unordered_map<void*, Buffer> table;
  table.reserve(4);
  table.emplace(nullptr, Buffer{});
  return last_new_size.load();
}

struct CFixture {
  Fakes fakes;
  std::shared_ptr<Runtime> runtime;
  ghtier_runtime_t* rt = nullptr;
  void* p = nullptr;
  std::vector<unsigned char> contents;

  explicit CFixture(std::size_t pinned_capacity, int device = 0) : fakes(pinned_capacity) {
    RuntimeOptions options;
    options.device = device;
    runtime = std::make_shared<Runtime>(pcie(), fakes.resources(), options);
    rt = capi::make_handle(runtime);
    contents = random_bytes(2 * MiB);
    EXPECT_EQ(ghtier_memory_alloc_mode_sync(rt, GHTIER_MODE_DEVICE, contents.size(), &p), GHTIER_SUCCESS);
    if (p != nullptr) std::memcpy(p, contents.data(), contents.size());
  }
  ~CFixture() { (void)ghtier_runtime_destroy(rt); }

  // ptr is still valid and the C API's: intact, and ghtier_memory_free_sync takes it back (once).
  void expect_pointer_kept() {
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(fakes.device->frees(), 0u) << "the old allocation was freed";
    EXPECT_EQ(std::memcmp(p, contents.data(), contents.size()), 0);
    EXPECT_EQ(ghtier_memory_free_sync(rt, p), GHTIER_SUCCESS) << ghtier_error_message();
    EXPECT_EQ(fakes.device->frees(), 1u);
    EXPECT_EQ(fakes.device->bad_frees(), 0u);
  }
};

TEST(RelocateFailureCApi, ARefusedTargetKeepsThePointer) {
  CFixture c(/*pinned_capacity=*/MiB);
  void* moved = reinterpret_cast<void*>(0x1);
  EXPECT_EQ(ghtier_memory_relocate_sync(c.rt, c.p, GHTIER_MODE_PINNED_HOST, &moved), GHTIER_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(moved, nullptr);
  c.expect_pointer_kept();
}

TEST(RelocateFailureCApi, ACopyThatCannotStartKeepsThePointer) {
  CFixture c(std::numeric_limits<std::size_t>::max(), no_such_device);
  void* moved = reinterpret_cast<void*>(0x1);
  EXPECT_NE(ghtier_memory_relocate_sync(c.rt, c.p, GHTIER_MODE_PINNED_HOST, &moved), GHTIER_SUCCESS);
  EXPECT_EQ(moved, nullptr);
  EXPECT_EQ(c.fakes.pinned->live_bytes(), 0u) << "the target of the failed copy leaked";
  c.expect_pointer_kept();
}

// Putting the old allocation back into the handle's table must not depend on a memory allocation that can
// fail: before the fix, a failed insertion destroyed the old Buffer, freeing the caller's pointer.
TEST(RelocateFailureCApi, PuttingThePointerBackCannotFailForWantOfMemory) {
  CFixture c(/*pinned_capacity=*/MiB);
  const std::size_t node = table_node_bytes();
  ASSERT_GT(node, 0u);
  void* moved = reinterpret_cast<void*>(0x1);
  fail_next_new_of_size.store(node);
  const ghtier_status_t status = ghtier_memory_relocate_sync(c.rt, c.p, GHTIER_MODE_PINNED_HOST, &moved);
  fail_next_new_of_size.store(0);
  EXPECT_NE(status, GHTIER_SUCCESS);
  EXPECT_EQ(moved, nullptr);
  c.expect_pointer_kept();
}

}  // namespace
