// Argument checks of a copy that need no GPU: null pointers, ranges that wrap, overlapping source and
// destination, and sizes that run past the end of an allocation ghtier tracks. Pure, so tested in CI.
#pragma once

#include <cstddef>
#include <span>

#include "ghtier/engine/transfer_request.hpp"
#include "ghtier/memory/allocation_record.hpp"

namespace ghtier::detail {

/// Throws Error(invalid_argument) naming `what` when `bytes` exceeds max_transfer_bytes (2^48): no address
/// space holds such a range, whoever allocated the memory. Needs no GPU.
void require_plausible_size(std::size_t bytes, const char* what);

/// The sum of the items' bytes. Throws Error(invalid_argument) naming the item that takes the sum past
/// max_transfer_bytes (so the sum never wraps).
[[nodiscard]] std::size_t batch_total_bytes(std::span<const BatchCopyItem> items);

/// Throws Error(invalid_argument) naming `what` and the bad argument: a size past max_transfer_bytes, a null
/// dst or src, a range that wraps around the address space, overlapping [src, src+bytes) and
/// [dst, dst+bytes), or (with a lookup) a range that starts inside a tracked allocation and runs past its
/// end. Zero bytes pass (after the null checks).
void validate_copy(const void* dst, const void* src, std::size_t bytes, const AllocationLookup* lookup,
                   const char* what);

/// validate_copy for every item (naming its index), and that no two items write overlapping destinations
/// (a batch runs its copies in no particular order). Throws Error(invalid_argument) for an empty batch.
void validate_batch(std::span<const BatchCopyItem> items, const AllocationLookup* lookup);

/// For a prefetch: ptr not null, the size is plausible, the range does not wrap or pass a tracked allocation's end.
void validate_range(const void* ptr, std::size_t bytes, const AllocationLookup* lookup, const char* what);

}  // namespace ghtier::detail
