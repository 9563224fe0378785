// HostRegistration: cudaHostRegister / cudaHostUnregister with errors that say what was wrong.
#include "ghtier/engine/host_registration.hpp"

#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <utility>

#include "core/support/cuda_check.hpp"
#include "core/support/nvtx_range.hpp"
#include "engine/copy_validation.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

HostRegistration::HostRegistration(void* p, std::size_t bytes) {
  if (p == nullptr) throw_error(ErrorCode::invalid_argument, "HostRegistration: p is null");
  if (bytes == 0) throw_error(ErrorCode::invalid_argument, fmt::format("HostRegistration: zero bytes at {}", p));
  // Before any CUDA call: a wrapped size must not reach the driver (or the page walk under it).
  detail::require_plausible_size(bytes, "HostRegistration");
  if (bytes - 1 > std::numeric_limits<std::uintptr_t>::max() - reinterpret_cast<std::uintptr_t>(p)) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("HostRegistration: [{}, +{}) wraps around the address space", p, bytes));
  }
  detail::NvtxRange range("ghtier::host_register", bytes);
  // Refuse memory CUDA already knows before asking it to register: a refused cudaHostRegister is an API
  // error that tools such as compute-sanitizer report. Both ends are checked (a partial overlap shows there).
  for (const void* end : {static_cast<const void*>(p), static_cast<const void*>(static_cast<char*>(p) + bytes - 1)}) {
    cudaPointerAttributes attributes{};
    GHTIER_CUDA_CHECK(cudaPointerGetAttributes(&attributes, end));
    if (attributes.type == cudaMemoryTypeHost) {
      throw_error(
          ErrorCode::invalid_argument,
          fmt::format("HostRegistration: [{}, +{}) is already page-locked (cudaMallocHost/cudaHostAlloc memory, "
                      "or registered already): it needs no registration",
                      p, bytes));
    }
    if (attributes.type == cudaMemoryTypeDevice || attributes.type == cudaMemoryTypeManaged) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("HostRegistration: [{}, +{}) is {} memory; only pageable host memory can be registered",
                              p, bytes, attributes.type == cudaMemoryTypeDevice ? "device" : "managed"));
    }
  }
  const cudaError_t status = GHTIER_CUDA_CALL(cudaHostRegister(p, bytes, cudaHostRegisterPortable));
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    switch (status) {
      case cudaErrorHostMemoryAlreadyRegistered:
        throw_error(ErrorCode::invalid_argument,
                    fmt::format("HostRegistration: [{}, +{}) is already page-locked (cudaMallocHost/cudaHostAlloc "
                                "memory, or registered already): it needs no registration",
                                p, bytes),
                    static_cast<int>(status));
      case cudaErrorNotSupported:
        throw_error(
            ErrorCode::unsupported,
            fmt::format("HostRegistration: this device cannot register host memory ({})", cudaGetErrorString(status)),
            static_cast<int>(status));
      case cudaErrorInvalidValue:
        throw_error(ErrorCode::invalid_argument,
                    fmt::format("HostRegistration: CUDA refused to register [{}, +{}): {} (device or managed memory, "
                                "or a range that is not fully mapped?)",
                                p, bytes, cudaGetErrorString(status)),
                    static_cast<int>(status));
      default: detail::check_cuda(status, "cudaHostRegister", __FILE__, __LINE__);
    }
  }
  data_ = p;
  bytes_ = bytes;
}

HostRegistration::~HostRegistration() { reset(); }

HostRegistration::HostRegistration(HostRegistration&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

HostRegistration& HostRegistration::operator=(HostRegistration&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void HostRegistration::reset() noexcept {
  if (data_ == nullptr) return;
  GHTIER_CUDA_CHECK_NOTHROW(cudaHostUnregister(data_));
  data_ = nullptr;
  bytes_ = 0;
}

}  // namespace ghtier
