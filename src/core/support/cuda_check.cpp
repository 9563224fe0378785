// CUDA status -> ghtier::Error.
#include "core/support/cuda_check.hpp"

#include <fmt/format.h>

#include "core/support/log.hpp"

namespace ghtier::detail {

namespace {
const char* base_name(const char* path) {
  const char* name = path;
  for (const char* p = path; *p != '\0'; ++p) {
    if (*p == '/') name = p + 1;
  }
  return name;
}

std::string describe(cudaError_t status, const char* call, const char* file, int line) {
  return fmt::format("{} failed at {}:{}: {} ({}){}", call, base_name(file), line, cudaGetErrorString(status),
                     cudaGetErrorName(status),
                     take_injected_mark(call) ? " [injected by ghtier's fault injector, not CUDA's failure]" : "");
}
}  // namespace

ErrorCode error_code_for(cudaError_t status) noexcept {
  switch (status) {
    case cudaErrorMemoryAllocation: return ErrorCode::out_of_memory;
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver: return ErrorCode::no_device;
    // A device number that is not a GPU of this machine is a bad argument; no_device means no GPU at all.
    case cudaErrorInvalidDevice: return ErrorCode::invalid_argument;
    default: return ErrorCode::cuda_error;
  }
}

void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw_error(error_code_for(status), describe(status, call, file, line), static_cast<int>(status));
}

void check_cuda_nothrow(cudaError_t status, const char* call, const char* file, int line) noexcept {
  if (status == cudaSuccess) return;
  try {
    log(LogLevel::error, "{}", describe(status, call, file, line));
  } catch (...) {
    // Logging itself failed (out of memory): nothing more can be said safely.
  }
}

}  // namespace ghtier::detail
