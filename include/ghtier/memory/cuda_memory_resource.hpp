// ghtier's resources as CCCL memory resources (cuda::mr, from the CUDA toolkit's libcu++): where each
// allocation mode's memory may be touched, as CCCL's property types, so that a resource passes wherever a
// cuda::mr::resource_ref<cuda::mr::device_accessible> (or host_accessible) is asked for.
//
// In CUDA 13.0 (CCCL 3.0) cuda::mr is still experimental: this header turns it on
// (LIBCUDACXX_ENABLE_EXPERIMENTAL_MEMORY_RESOURCE) and must therefore come before any other include of
// <cuda/memory_resource>. Its concepts there are cuda::mr::resource (allocate(bytes, alignment)) and
// cuda::mr::async_resource (allocate_async(bytes, alignment, cuda::stream_ref)); later CCCL releases
// renamed them (synchronous_resource, and resource with the stream first): this header follows the
// toolkit's. Host compilers need the toolkit's include/cccl folder on the include path (nvcc adds it).
#pragma once

#include "ghtier/export.h"

#ifndef LIBCUDACXX_ENABLE_EXPERIMENTAL_MEMORY_RESOURCE
#define LIBCUDACXX_ENABLE_EXPERIMENTAL_MEMORY_RESOURCE
#endif
#include <cuda/memory_resource>
#include <cuda/stream_ref>

#include <concepts>
#include <cstddef>
#include <string>

#include "ghtier/error.hpp"
#include "ghtier/memory/device_pool_resource.hpp"
#include "ghtier/memory/managed_resource.hpp"
#include "ghtier/memory/memory_mode.hpp"
#include "ghtier/memory/memory_resource.hpp"
#include "ghtier/memory/pinned_host_resource.hpp"
#include "ghtier/memory/system_resource.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier {

// What each mode's memory is everywhere, known at compile time (found by ADL from the resource type).
// System memory is host-accessible only: the GPU reaches it on ATS (GH200) and HMM platforms, which is a
// fact of the machine, not of the type; AccessCheckedResource below states it where the platform allows.
inline void get_property(const DevicePoolResource&, cuda::mr::device_accessible) noexcept {}
inline void get_property(const PinnedHostResource&, cuda::mr::device_accessible) noexcept {}
inline void get_property(const PinnedHostResource&, cuda::mr::host_accessible) noexcept {}
inline void get_property(const ManagedResource&, cuda::mr::device_accessible) noexcept {}
inline void get_property(const ManagedResource&, cuda::mr::host_accessible) noexcept {}
inline void get_property(const SystemResource&, cuda::mr::host_accessible) noexcept {}

/// True when `Property` is one of `Properties`.
template <class Property, class... Properties>
concept OneOfProperties = (std::same_as<Property, Properties> || ...);

/// Whether memory of `mode` may be dereferenced on the side that `Property` names, on `platform`.
template <class Property>
[[nodiscard]] bool mode_has_property(const Platform& platform, MemoryMode mode) noexcept {
  static_assert(
      std::same_as<Property, cuda::mr::device_accessible> || std::same_as<Property, cuda::mr::host_accessible>,
      "only cuda::mr::device_accessible and cuda::mr::host_accessible are known");
  const ModeAccess access = describe_mode(platform, mode);
  return std::same_as<Property, cuda::mr::device_accessible> ? access.gpu_access : access.cpu_access;
}

/// Any MemoryResource (an adaptor stack, a resource whose mode is chosen at run time, system memory on a
/// GH200) with accessibility properties checked once, at construction, against the platform. It refers to
/// the resource, which must outlive it; copies refer to the same resource and compare equal.
template <class... Properties>
class AccessCheckedResource {
 public:
  /// Throws Error(unsupported) naming the mode and the platform when the resource's memory lacks one of
  /// `Properties` there (e.g. device_accessible for system memory on plain PCIe).
  AccessCheckedResource(MemoryResource& resource, const Platform& platform) : resource_(&resource) {
    (check<Properties>(platform), ...);
  }

  [[nodiscard]] void* allocate(std::size_t bytes, std::size_t alignment = default_alignment) {
    return resource_->allocate(bytes, alignment);
  }
  void deallocate(void* p, std::size_t bytes, std::size_t alignment = default_alignment) noexcept {
    resource_->deallocate(p, bytes, alignment);
  }
  [[nodiscard]] void* allocate_async(std::size_t bytes, std::size_t alignment, cuda::stream_ref stream) {
    return resource_->allocate_async(bytes, alignment, stream.get());
  }
  void deallocate_async(void* p, std::size_t bytes, std::size_t alignment, cuda::stream_ref stream) noexcept {
    resource_->deallocate_async(p, bytes, alignment, stream.get());
  }
  [[nodiscard]] bool operator==(const AccessCheckedResource& other) const noexcept {
    return *resource_ == *other.resource_;
  }
  [[nodiscard]] MemoryResource& resource() const noexcept { return *resource_; }

  template <OneOfProperties<Properties...> Property>
  friend void get_property(const AccessCheckedResource&, Property) noexcept {}

 private:
  template <class Property>
  void check(const Platform& platform) const {
    if (mode_has_property<Property>(platform, resource_->mode())) return;
    const bool device = std::same_as<Property, cuda::mr::device_accessible>;
    throw_error(ErrorCode::unsupported,
                std::string("AccessCheckedResource: ") + std::string(to_string(resource_->mode())) + " memory is not " +
                    (device ? "device" : "host") + "-accessible on a " +
                    std::string(to_string(platform.platform_class)) + " platform (host access " +
                    std::string(to_string(platform.host_access)) + ")");
  }

  MemoryResource* resource_;
};

}  // namespace ghtier
