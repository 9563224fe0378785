// RmmBackedResource: a RAPIDS RMM device_memory_resource seen as a ghtier MemoryResource, so that ghtier's
// adaptors (budget, statistics, tracking) and the runtime can draw from an RMM pool an application already
// owns. Header-only and optional, like ghtier/memory/rmm_device_resource_adaptor.hpp (RMM 25.x's interface).
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <rmm/cuda_stream_view.hpp>
#include <rmm/error.hpp>
#include <rmm/mr/device_memory_resource.hpp>

#include <bit>
#include <cstddef>
#include <new>
#include <stdexcept>
#include <string>

#include "ghtier/error.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier {

/// Forwards to an RMM resource (RMM 25.10 or newer: allocate_sync and the stream-first allocate). RMM aligns to 256
/// bytes and takes no alignment argument, so a larger alignment is refused rather than silently ignored. RMM's errors
/// become ghtier's: rmm::out_of_memory and std::bad_alloc -> Error(out_of_memory), rmm::cuda_error ->
/// Error(cuda_error), anything else -> Error(internal); each keeps RMM's text. The RMM resource must outlive this one.
class GHTIER_API RmmBackedResource final : public MemoryResource {
 public:
  /// `mode` is what the RMM resource hands out (RMM does not say): device for cuda/pool/async resources,
  /// managed for rmm::mr::managed_memory_resource, and so on.
  explicit RmmBackedResource(rmm::mr::device_memory_resource& upstream, MemoryMode mode = MemoryMode::device) noexcept
      : upstream_(&upstream), mode_(mode) {}

  [[nodiscard]] rmm::mr::device_memory_resource& upstream() const noexcept { return *upstream_; }

  /// Largest alignment RMM's device resources guarantee.
  static constexpr std::size_t max_alignment = 256;

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) override {
    if (bytes == 0) throw_error(ErrorCode::invalid_argument, "RmmBackedResource: cannot allocate 0 bytes");
    if (!std::has_single_bit(alignment) || alignment > max_alignment) {
      throw_error(ErrorCode::invalid_argument, "RmmBackedResource: alignment " + std::to_string(alignment) +
                                                   " is not a power of two of at most 256 (RMM's guarantee)");
    }
    try {
      // RMM's synchronous form has RMM's meaning (ordered on the default stream), as for its own users.
      return synchronous ? upstream_->allocate_sync(bytes, max_alignment)
                         : upstream_->allocate(rmm::cuda_stream_view{stream}, bytes, max_alignment);
    } catch (const Error&) {
      throw;
    } catch (const rmm::out_of_memory& e) {
      throw_error(ErrorCode::out_of_memory, std::string("RmmBackedResource: ") + e.what());
    } catch (const rmm::cuda_error& e) {
      throw_error(ErrorCode::cuda_error, std::string("RmmBackedResource: ") + e.what());
    } catch (const std::bad_alloc& e) {
      throw_error(ErrorCode::out_of_memory, std::string("RmmBackedResource: ") + e.what());
    } catch (const std::exception& e) {
      throw_error(ErrorCode::internal, std::string("RmmBackedResource: ") + e.what());
    }
  }

  void do_deallocate(void* p, std::size_t bytes, std::size_t /*alignment*/, cudaStream_t stream,
                     bool synchronous) noexcept override {
    if (p == nullptr) return;
    if (synchronous) {
      upstream_->deallocate_sync(p, bytes, max_alignment);
    } else {
      upstream_->deallocate(rmm::cuda_stream_view{stream}, p, bytes, max_alignment);
    }
  }

  [[nodiscard]] MemoryMode do_mode() const noexcept override { return mode_; }

  rmm::mr::device_memory_resource* upstream_;
  MemoryMode mode_;
};

}  // namespace ghtier
