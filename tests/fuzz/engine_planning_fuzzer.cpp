// The transfer engine's pure checks and plans (src/engine): batch validation (null pointers, wrapping
// ranges, source/destination overlap, overlapping destinations, ranges past a tracked allocation) against an
// independent quadratic reference, and the chunk planner's cut of a range (exact cover, no empty chunk,
// none larger than the chunk size, inner boundaries on the alignment).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "engine/chunk_planner.hpp"
#include "engine/copy_validation.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace ghtier;

/// Tracked allocations at fixed addresses (nothing is dereferenced: validation only compares addresses).
class FakeLookup final : public AllocationLookup {
 public:
  std::vector<AllocationRecord> records;
  [[nodiscard]] std::optional<AllocationRecord> find(const void* p) const override {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    for (const AllocationRecord& r : records) {
      const auto base = reinterpret_cast<std::uintptr_t>(r.base);
      if (a >= base && a - base < r.bytes) return r;
    }
    return std::nullopt;
  }
};

std::uintptr_t any_address(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: return 0;
    case 1: return in.ConsumeIntegral<std::uintptr_t>();
    case 2: return UINTPTR_MAX - in.ConsumeIntegralInRange<std::uintptr_t>(0, 4096);
    default: return 0x10000 + in.ConsumeIntegralInRange<std::uintptr_t>(0, 1 << 16);  // a crowded region
  }
}

std::size_t any_bytes(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: return 0;
    case 1: return in.ConsumeIntegral<std::size_t>();
    case 2: return max_transfer_bytes + in.ConsumeIntegralInRange<std::size_t>(0, 2) - 1;
    default: return in.ConsumeIntegralInRange<std::size_t>(1, 1 << 12);
  }
}

bool overlaps(std::uintptr_t a, std::size_t a_bytes, std::uintptr_t b, std::size_t b_bytes) {
  return a_bytes > 0 && b_bytes > 0 && a < b + b_bytes && b < a + a_bytes;
}

/// What validate_batch must accept, decided independently (no lookup).
bool batch_is_valid(const std::vector<BatchCopyItem>& items) {
  if (items.empty()) return false;
  std::size_t total = 0;
  for (const BatchCopyItem& item : items) {
    const auto d = reinterpret_cast<std::uintptr_t>(item.dst);
    const auto s = reinterpret_cast<std::uintptr_t>(item.src);
    if (item.bytes > max_transfer_bytes || total + item.bytes > max_transfer_bytes) return false;
    total += item.bytes;
    if (d == 0 || s == 0) return false;
    if (item.bytes > UINTPTR_MAX - d || item.bytes > UINTPTR_MAX - s) return false;
    if (overlaps(d, item.bytes, s, item.bytes)) return false;
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    for (std::size_t j = i + 1; j < items.size(); ++j) {
      if (overlaps(reinterpret_cast<std::uintptr_t>(items[i].dst), items[i].bytes,
                   reinterpret_cast<std::uintptr_t>(items[j].dst), items[j].bytes)) {
        return false;
      }
    }
  }
  return true;
}

void fuzz_batch(FuzzedDataProvider& in) {
  std::vector<BatchCopyItem> items(in.ConsumeIntegralInRange<std::size_t>(0, 24));
  for (BatchCopyItem& item : items) {
    item.dst = reinterpret_cast<void*>(any_address(in));
    item.src = reinterpret_cast<const void*>(any_address(in));
    item.bytes = any_bytes(in);
  }
  const bool accepted = fuzz::returns_or_refuses([&] { detail::validate_batch(items, nullptr); });
  fuzz::check(accepted == batch_is_valid(items), accepted ? "validate_batch accepted a batch the reference refuses"
                                                          : "validate_batch refused a batch the reference accepts");
  // With tracked allocations: never more accepted than without, and nothing accepted runs past one's end.
  FakeLookup lookup;
  for (std::size_t n = in.ConsumeIntegralInRange<std::size_t>(0, 4); n > 0; --n) {
    lookup.records.push_back({reinterpret_cast<void*>(any_address(in)),
                              in.ConsumeIntegralInRange<std::size_t>(1, 1 << 14), MemoryMode::device, "fuzz"});
  }
  if (!fuzz::returns_or_refuses([&] { detail::validate_batch(items, &lookup); })) return;
  fuzz::check(accepted, "validate_batch accepted with a lookup what it refuses without one");
  for (const BatchCopyItem& item : items) {
    for (const void* p : {static_cast<const void*>(item.dst), item.src}) {
      if (item.bytes == 0) continue;
      if (auto r = lookup.find(p)) {
        const auto offset = reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(r->base);
        fuzz::check(item.bytes <= r->bytes - offset, "an accepted copy runs past the end of its allocation");
      }
    }
  }
}

void fuzz_chunks(FuzzedDataProvider& in) {
  const std::size_t chunk_bytes =
      in.ConsumeBool() ? in.ConsumeIntegral<std::size_t>() : in.ConsumeIntegralInRange<std::size_t>(0, 1 << 16);
  const std::size_t alignment =
      in.ConsumeBool() ? std::size_t{1} << in.ConsumeIntegralInRange(0, 63) : in.ConsumeIntegral<std::size_t>();
  std::optional<detail::ChunkPlanner> planner;
  if (!fuzz::returns_or_refuses([&] { planner.emplace(chunk_bytes, alignment); })) return;
  fuzz::check(alignment != 0 && (alignment & (alignment - 1)) == 0 && alignment <= chunk_bytes,
              "ChunkPlanner accepted an alignment that is not a power of two at most the chunk size");
  const std::uintptr_t address = any_address(in);
  // Bounded so that a plan has at most a few thousand chunks.
  const std::size_t step = std::max<std::size_t>(1, chunk_bytes / 4);
  const std::size_t steps = in.ConsumeIntegralInRange<std::size_t>(0, 4096);
  const std::size_t bytes = in.ConsumeBool()           ? in.ConsumeIntegralInRange<std::size_t>(0, chunk_bytes)
                            : steps <= SIZE_MAX / step ? steps * step
                                                       : SIZE_MAX;
  std::vector<detail::Chunk> chunks;
  if (!fuzz::returns_or_refuses([&] { chunks = planner->plan(address, bytes); })) {
    fuzz::check(bytes > UINTPTR_MAX - address, "ChunkPlanner refused a range that does not wrap");
    return;
  }
  std::size_t next = 0;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const detail::Chunk& c = chunks[i];
    fuzz::check(c.offset == next, "chunks leave a gap or overlap");
    fuzz::check(c.bytes > 0 && c.bytes <= chunk_bytes, "a chunk is empty or larger than the chunk size");
    if (i > 0) fuzz::check((address + c.offset) % alignment == 0, "an inner chunk boundary is not aligned");
    next += c.bytes;
  }
  fuzz::check(next == bytes, "the chunks do not cover the range");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) {
    fuzz_batch(in);
  } else {
    fuzz_chunks(in);
  }
  return 0;
}
