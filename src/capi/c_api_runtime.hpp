// The C++ Runtime behind a ghtier_runtime_t handle, for the C API files of every layer (the transfer
// engine's and the kernels' C functions create their objects from a runtime handle).
#pragma once

#include <cuda_runtime_api.h>

#include <memory>

#include "ghtier/ghtier.h"
#include "ghtier/runtime/runtime.hpp"

namespace ghtier::capi {

/// The Runtime behind `handle`, sharing ownership: the Runtime lives until the handle is destroyed and the
/// last of these pointers is gone (objects made from a handle keep one). Throws Error(invalid_argument) for
/// NULL, or a handle that is not a live runtime handle (destroyed, of another type, or never made).
[[nodiscard]] std::shared_ptr<Runtime> shared_runtime_of(ghtier_runtime_t* handle);

/// shared_runtime_of(handle) for an object that moves bytes on the GPU, named by `who` ("a transfer engine"):
/// throws Error(unsupported) "... `who` needs a GPU" for an offline runtime (made with an assumed_profile), and
/// as shared_runtime_of otherwise.
[[nodiscard]] std::shared_ptr<Runtime> gpu_runtime_of(ghtier_runtime_t* handle, const char* who);

/// The memory resource that the kernels' C calls allocate device memory from: the runtime's device tier
/// (budgeted and counted), or the process default device resource for a runtime without one (offline).
[[nodiscard]] MemoryResource& kernel_resource(Runtime& runtime);

/// A new C handle for a Runtime made in C++ (e.g. over the caller's own resources), so that C code and the
/// other C APIs can use it; ghtier_runtime_destroy(handle) drops the handle's share. Throws
/// Error(invalid_argument) for null.
[[nodiscard]] ghtier_runtime_t* make_handle(std::shared_ptr<Runtime> runtime);

/// The stream of a stream-ordered C call: NULL is CUDA's legacy default stream, as everywhere in the C API
/// (PyTorch and CuPy report their default stream as 0).
[[nodiscard]] inline cudaStream_t ordered_stream(void* stream) noexcept {
  return stream == nullptr ? cudaStreamLegacy : static_cast<cudaStream_t>(stream);
}

}  // namespace ghtier::capi
