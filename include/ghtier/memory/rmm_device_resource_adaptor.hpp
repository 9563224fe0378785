// RmmDeviceResourceAdaptor: a ghtier MemoryResource seen as RAPIDS RMM's rmm::mr::device_memory_resource,
// so that RMM users (cuDF, cuML, RMM's own adaptors) allocate through ghtier's modes, budgets and statistics.
// Header-only and optional: include it only where RMM is installed (target ghtier::rmm, built when CMake
// finds rmm). Written against rmm::mr::device_memory_resource as RMM 25.x has it (RMM 26 removed the class
// in favour of CCCL's resource concepts, which ghtier/memory/cuda_memory_resource.hpp covers).
#pragma once

#include "ghtier/export.h"

#include <rmm/cuda_stream_view.hpp>
#include <rmm/error.hpp>
#include <rmm/mr/device_memory_resource.hpp>

#include <cstddef>
#include <string>

#include "ghtier/error.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

/// Forwards every RMM allocation to a ghtier resource, stream-ordered, at RMM's 256-byte alignment.
/// ghtier's errors become RMM's: out_of_memory and out_of_budget -> rmm::out_of_memory, anything else ->
/// rmm::bad_alloc, each with ghtier's text. The ghtier resource must outlive the adaptor. Meant for
/// device-accessible modes (RMM's device_memory_resource promises device_accessible memory): the caller
/// must ensure that the resource's memory is reachable from the GPU on this platform.
class GHTIER_API RmmDeviceResourceAdaptor final : public rmm::mr::device_memory_resource {
 public:
  explicit RmmDeviceResourceAdaptor(MemoryResource& upstream) noexcept : upstream_(&upstream) {}

  [[nodiscard]] MemoryResource& upstream() const noexcept { return *upstream_; }

 private:
  static constexpr std::size_t rmm_alignment = 256;  // what RMM's device resources guarantee

  void* do_allocate(std::size_t bytes, rmm::cuda_stream_view stream) override {
    try {
      return upstream_->allocate_async(bytes, rmm_alignment, stream.value());
    } catch (const Error& e) {
      const std::string what = std::string("ghtier: ") + e.what();
      if (e.code() == ErrorCode::out_of_memory || e.code() == ErrorCode::out_of_budget) {
        throw rmm::out_of_memory(what);
      }
      throw rmm::bad_alloc(what);
    }
  }

  void do_deallocate(void* p, std::size_t bytes, rmm::cuda_stream_view stream) noexcept override {
    upstream_->deallocate_async(p, bytes, rmm_alignment, stream.value());
  }

  [[nodiscard]] bool do_is_equal(const rmm::mr::device_memory_resource& other) const noexcept override {
    const auto* same = dynamic_cast<const RmmDeviceResourceAdaptor*>(&other);
    return same != nullptr && *same->upstream_ == *upstream_;
  }

  MemoryResource* upstream_;
};

}  // namespace ghtier
