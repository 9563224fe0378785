// One place where CUDA's return codes become ghtier::Error: every CUDA call in ghtier goes through it.
#pragma once

#include <cuda_runtime_api.h>

#include "core/support/fault_injector.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

/// Maps a CUDA status to ghtier's code (out of memory, no device, or a plain CUDA error).
[[nodiscard]] ErrorCode error_code_for(cudaError_t status) noexcept;

/// Throws ghtier::Error naming the call, file:line and CUDA's text unless status is cudaSuccess.
void check_cuda(cudaError_t status, const char* call, const char* file, int line);

/// For paths that must not throw (destructors, deallocation): logs a failure at error level instead.
void check_cuda_nothrow(cudaError_t status, const char* call, const char* file, int line) noexcept;

}  // namespace ghtier::detail

/// Checks a call; under an armed fault plan (fault_injector.hpp) a counted call may fail without being made.
#define GHTIER_CUDA_CHECK(call) ::ghtier::detail::check_cuda(GHTIER_CUDA_CALL(call), #call, __FILE__, __LINE__)
/// Never injected: the sites that may not throw are releases and clean-ups, where skipping the call would leak.
#define GHTIER_CUDA_CHECK_NOTHROW(call) ::ghtier::detail::check_cuda_nothrow((call), #call, __FILE__, __LINE__)
/// After a kernel launch: a bad configuration shows up only in cudaGetLastError.
#define GHTIER_CUDA_CHECK_LAUNCH(kernel_name) \
  ::ghtier::detail::check_cuda(cudaGetLastError(), "launch of " kernel_name, __FILE__, __LINE__)
