// StagingBuffers: the pinned memory of one staging ring (slots x slot_bytes, one cudaHostAlloc) together
// with the ring's state machine. Allocated the first time a lane stages a copy.
#pragma once

#include <cstddef>

#include "engine/staging_ring.hpp"

namespace ghtier::detail {

class StagingBuffers {
 public:
  /// Allocates slots x slot_bytes of pinned memory on the current device's context. Throws Error
  /// (out_of_memory, cuda_error).
  StagingBuffers(std::size_t slots, std::size_t slot_bytes);
  ~StagingBuffers();
  StagingBuffers(const StagingBuffers&) = delete;
  StagingBuffers& operator=(const StagingBuffers&) = delete;

  [[nodiscard]] std::byte* slot(std::size_t index) const noexcept { return memory_ + index * slot_bytes_; }
  [[nodiscard]] std::size_t slot_bytes() const noexcept { return slot_bytes_; }
  [[nodiscard]] StagingRing& ring() noexcept { return ring_; }
  [[nodiscard]] const StagingRing& ring() const noexcept { return ring_; }

 private:
  std::byte* memory_ = nullptr;
  std::size_t slot_bytes_;
  StagingRing ring_;
};

}  // namespace ghtier::detail
