// TrackingAdaptor: remembers every live allocation made through any MemoryResource (base, size, mode, tag),
// so that any pointer ghtier handed out (interior pointers too) can be looked up and freed by itself, and a
// foreign or already freed pointer is a clear error instead of a crash.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "ghtier/memory/allocation_record.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

/// Tracks allocations in an ordered map (address -> record), so find() answers for interior pointers in
/// O(log n). The upstream must outlive the adaptor. Thread-safe.
class GHTIER_API TrackingAdaptor final : public MemoryResource, public AllocationLookup {
 public:
  explicit TrackingAdaptor(MemoryResource& upstream) noexcept : upstream_(upstream) {}
  TrackingAdaptor(const TrackingAdaptor&) = delete;
  TrackingAdaptor& operator=(const TrackingAdaptor&) = delete;

  using MemoryResource::allocate;
  using MemoryResource::allocate_async;
  using MemoryResource::deallocate;
  using MemoryResource::deallocate_async;

  /// allocate() that records `tag` with the allocation. Throws as the upstream does.
  [[nodiscard]] void* allocate(std::size_t bytes, std::size_t alignment, std::string tag);
  /// allocate_async() that records `tag` with the allocation. Throws as the upstream does.
  [[nodiscard]] void* allocate_async(std::size_t bytes, std::size_t alignment, cudaStream_t stream, std::string tag);

  /// Checked free by pointer alone (size and alignment come from the record). Throws Error: not_found for a
  /// pointer this adaptor never returned or already freed; invalid_argument for an interior pointer
  /// (naming the allocation it lies in).
  void deallocate(void* p);
  /// Stream-ordered checked free: as deallocate(p), through the upstream's deallocate_async on `stream`.
  void deallocate_async(void* p, cudaStream_t stream);

  /// The live allocation containing `p` (interior pointers included), or nullopt.
  [[nodiscard]] std::optional<AllocationRecord> find(const void* p) const override;
  /// Every live allocation, in address order.
  [[nodiscard]] std::vector<AllocationRecord> live_allocations() const;
  [[nodiscard]] std::size_t live_count() const;
  [[nodiscard]] std::size_t live_bytes() const;
  [[nodiscard]] MemoryResource& upstream() const noexcept { return upstream_; }

 private:
  struct Entry {
    AllocationRecord record;
    std::size_t alignment = default_alignment;
  };

  void* allocate_tagged(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous,
                        std::string tag);
  /// Removes the record of `p` (which must be a base pointer) and returns it; throws as deallocate(p).
  Entry take_checked(void* p, const char* operation);

  void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) override;
  /// The unchecked free of the MemoryResource interface: a pointer it does not know is logged as an error
  /// and left alone (never passed upstream); a size that disagrees with the record is logged and the
  /// recorded size is used.
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                     bool synchronous) noexcept override;
  [[nodiscard]] MemoryMode do_mode() const noexcept override { return upstream_.mode(); }

  MemoryResource& upstream_;
  mutable std::shared_mutex mutex_;
  std::map<std::uintptr_t, Entry> entries_;
  std::size_t live_bytes_ = 0;
};

}  // namespace ghtier
