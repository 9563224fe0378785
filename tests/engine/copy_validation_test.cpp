// Copy argument checks without a GPU: null pointers, overlap, wrap-around, tracked allocation bounds, and
// batches (empty, overlapping destinations).
#include "engine/copy_validation.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "test_support.hpp"

namespace ghtier::detail {
namespace {

std::byte* at(std::uintptr_t address) { return reinterpret_cast<std::byte*>(address); }

// A tracker stand-in: allocations by base address.
class FakeLookup final : public AllocationLookup {
 public:
  void add(std::uintptr_t base, std::size_t bytes) { records_[base] = bytes; }
  std::optional<AllocationRecord> find(const void* p) const override {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    auto it = records_.upper_bound(a);
    if (it == records_.begin()) return std::nullopt;
    --it;
    if (a >= it->first + it->second) return std::nullopt;
    return AllocationRecord{at(it->first), it->second, MemoryMode::device, "kv"};
  }

 private:
  std::map<std::uintptr_t, std::size_t> records_;
};

TEST(CopyValidation, NullPointers) {
  EXPECT_GHTIER_ERROR(validate_copy(nullptr, at(0x1000), 10, nullptr, "t"), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(validate_copy(at(0x1000), nullptr, 10, nullptr, "t"), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(validate_copy(nullptr, nullptr, 0, nullptr, "t"), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(validate_range(nullptr, 10, nullptr, "t"), ErrorCode::invalid_argument);
  try {
    validate_copy(at(0x1000), nullptr, 10, nullptr, "CopyRequest");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("src is null"), std::string::npos) << e.what();
  }
}

TEST(CopyValidation, OverlapMatchesAReference) {
  auto rng = test::fresh_rng();
  for (int i = 0; i < 20000; ++i) {
    const std::uintptr_t d = std::uniform_int_distribution<std::uintptr_t>(0x1000, 0x2000)(rng);
    const std::uintptr_t s = std::uniform_int_distribution<std::uintptr_t>(0x1000, 0x2000)(rng);
    const std::size_t n = std::uniform_int_distribution<std::size_t>(0, 600)(rng);
    bool overlap = false;  // reference: some byte address in both ranges
    for (std::uintptr_t a = d; a < d + n && !overlap; ++a) overlap = a >= s && a < s + n;
    if (overlap) {
      EXPECT_GHTIER_ERROR(validate_copy(at(d), at(s), n, nullptr, "t"), ErrorCode::invalid_argument);
    } else {
      EXPECT_NO_THROW(validate_copy(at(d), at(s), n, nullptr, "t")) << d << " " << s << " " << n;
    }
  }
}

TEST(CopyValidation, WrapAround) {
  EXPECT_GHTIER_ERROR(validate_copy(at(~std::uintptr_t{0} - 4), at(0x1000), 16, nullptr, "t"),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(validate_range(at(~std::uintptr_t{0} - 4), 16, nullptr, "t"), ErrorCode::invalid_argument);
}

// Memory ghtier did not allocate (no lookup) gets the size check too: 2^60 bytes between two malloc'd
// buffers does not wrap, and used to pass on to the CPU copy threads.
TEST(CopyValidation, AbsurdSizesAreRefusedWithoutALookup) {
  std::vector<std::byte> a(64);
  std::vector<std::byte> b(64);
  const std::size_t huge = std::size_t{1} << 60;
  EXPECT_GHTIER_ERROR(validate_copy(a.data(), b.data(), huge, nullptr, "t"), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(validate_range(a.data(), huge, nullptr, "t"), ErrorCode::invalid_argument);
  const std::vector<BatchCopyItem> one{{a.data(), b.data(), huge}};
  EXPECT_GHTIER_ERROR(validate_batch(one, nullptr), ErrorCode::invalid_argument);
  // The limit itself passes the size check (the range check then decides); one byte more does not.
  EXPECT_NO_THROW(require_plausible_size(max_transfer_bytes, "t"));
  EXPECT_GHTIER_ERROR(require_plausible_size(max_transfer_bytes + 1, "t"), ErrorCode::invalid_argument);
  // Random sizes against the documented limit.
  auto rng = test::fresh_rng();
  for (int i = 0; i < 1000; ++i) {
    const std::size_t bytes = rng() >> (rng() % 64);
    if (bytes > max_transfer_bytes) {
      SCOPED_TRACE(bytes);
      EXPECT_GHTIER_ERROR(require_plausible_size(bytes, "t"), ErrorCode::invalid_argument);
    } else {
      EXPECT_NO_THROW(require_plausible_size(bytes, "t")) << bytes;
    }
  }
}

// Item sizes are summed with an overflow check: the sum of items that each pass must not wrap.
TEST(CopyValidation, BatchTotalsAreCheckedAgainstAReference) {
  auto rng = test::fresh_rng();
  for (int round = 0; round < 200; ++round) {
    std::vector<BatchCopyItem> items(1 + rng() % 8);
    unsigned __int128 reference = 0;
    for (auto& item : items) {
      item.bytes = rng() >> (14 + rng() % 50);  // up to 2^50: some batches pass the limit, some do not
      reference += item.bytes;
    }
    if (reference > max_transfer_bytes) {
      EXPECT_GHTIER_ERROR((void)batch_total_bytes(items), ErrorCode::invalid_argument);
    } else {
      EXPECT_EQ(batch_total_bytes(items), static_cast<std::size_t>(reference));
    }
  }
  // Items whose sum wraps a 64-bit size to something small.
  const std::vector<BatchCopyItem> wrapping{{nullptr, nullptr, ~std::size_t{0}}, {nullptr, nullptr, 2}};
  EXPECT_GHTIER_ERROR((void)batch_total_bytes(wrapping), ErrorCode::invalid_argument);
}

TEST(CopyValidation, TrackedAllocationBounds) {
  FakeLookup lookup;
  lookup.add(0x100000, 4096);
  lookup.add(0x200000, 1000);
  // Inside: fine, including ending exactly at the end.
  EXPECT_NO_THROW(validate_copy(at(0x100000), at(0x200000), 1000, &lookup, "t"));
  EXPECT_NO_THROW(validate_copy(at(0x100000 + 3096), at(0x900000), 1000, &lookup, "t"));
  // One byte past the end of the destination, or of the source.
  EXPECT_GHTIER_ERROR(validate_copy(at(0x100000 + 3097), at(0x900000), 1000, &lookup, "t"),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(validate_copy(at(0x900000), at(0x200000 + 1), 1000, &lookup, "t"), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(validate_range(at(0x200000), 1001, &lookup, "t"), ErrorCode::invalid_argument);
  // Untracked memory is not checked against anything.
  EXPECT_NO_THROW(validate_copy(at(0x900000), at(0xa00000), 1 << 20, &lookup, "t"));
  try {
    validate_copy(at(0x100000 + 4000), at(0x900000), 200, &lookup, "CopyRequest");
    FAIL();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("dst"), std::string::npos) << what;
    EXPECT_NE(what.find("104 bytes past the end"), std::string::npos) << what;
    EXPECT_NE(what.find("kv"), std::string::npos) << what;
  }
}

TEST(CopyValidation, Batches) {
  EXPECT_GHTIER_ERROR(validate_batch({}, nullptr), ErrorCode::invalid_argument);
  std::vector<BatchCopyItem> items{{at(0x1000), at(0x9000), 64}, {at(0x1040), at(0xa000), 64}};
  EXPECT_NO_THROW(validate_batch(items, nullptr));
  items.push_back({at(0x1070), at(0xb000), 16});  // overlaps item 1's destination
  EXPECT_GHTIER_ERROR(validate_batch(items, nullptr), ErrorCode::invalid_argument);
  items.back() = {at(0x2000), nullptr, 16};
  EXPECT_GHTIER_ERROR(validate_batch(items, nullptr), ErrorCode::invalid_argument);
  // Zero-byte items never overlap anything.
  items.back() = {at(0x1010), at(0xb000), 0};
  EXPECT_NO_THROW(validate_batch(items, nullptr));
}

TEST(CopyValidation, BatchOverlapsAgainstABruteForceCheck) {
  // Ascending destinations take the in-place path, others the sorted one; both must agree with an O(n^2)
  // comparison of every pair.
  auto rng = test::fresh_rng();
  for (int trial = 0; trial < 400; ++trial) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 60)(rng);
    std::vector<BatchCopyItem> items;
    std::uintptr_t at_address = 0x100000;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t bytes = std::uniform_int_distribution<std::size_t>(0, 64)(rng);
      // Mostly back to back with gaps; sometimes a step back that makes an overlap.
      const std::ptrdiff_t step = std::uniform_int_distribution<int>(0, 30)(rng) == 0
                                      ? -std::uniform_int_distribution<std::ptrdiff_t>(1, 40)(rng)
                                      : std::uniform_int_distribution<std::ptrdiff_t>(0, 16)(rng);
      at_address = static_cast<std::uintptr_t>(static_cast<std::ptrdiff_t>(at_address) + step);
      items.push_back({at(at_address), at(0x90000000 + i * 0x1000), bytes});
      at_address += bytes;
    }
    if (trial % 2 == 1) std::shuffle(items.begin(), items.end(), rng);
    bool overlap = false;
    for (std::size_t i = 0; i < n && !overlap; ++i) {
      for (std::size_t j = i + 1; j < n && !overlap; ++j) {
        const auto a = reinterpret_cast<std::uintptr_t>(items[i].dst);
        const auto b = reinterpret_cast<std::uintptr_t>(items[j].dst);
        overlap = items[i].bytes > 0 && items[j].bytes > 0 && a < b + items[j].bytes && b < a + items[i].bytes;
      }
    }
    SCOPED_TRACE(::testing::Message() << "trial " << trial << ", " << n << " items");
    if (overlap) {
      EXPECT_GHTIER_ERROR(validate_batch(items, nullptr), ErrorCode::invalid_argument);
    } else {
      EXPECT_NO_THROW(validate_batch(items, nullptr));
    }
  }
}

}  // namespace
}  // namespace ghtier::detail
