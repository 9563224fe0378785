// The C API's error plumbing: thread-local last error, and one wrapper that turns any exception into a status.
#pragma once

#include <exception>
#include <new>
#include <string>

#include "ghtier/error.hpp"
#include "ghtier/ghtier.h"

namespace ghtier::capi {

void set_last_error(ghtier_status_t status, std::string message, int cuda_status = 0) noexcept;
void clear_last_error() noexcept;
[[nodiscard]] ghtier_status_t to_status(ErrorCode code) noexcept;

/// Throws Error(invalid_argument) "<what> is NULL" when `p` is NULL: the argument check of every C call.
void require_non_null(const void* p, const char* what);

/// Runs body(); maps ghtier::Error, std::bad_alloc and anything else to a status and a message.
template <typename Body>
ghtier_status_t guarded(const char* function, Body&& body) noexcept {
  try {
    clear_last_error();
    body();
    return GHTIER_SUCCESS;
  } catch (const Error& e) {
    set_last_error(to_status(e.code()), std::string(function) + ": " + e.what(), e.cuda_status());
    return to_status(e.code());
  } catch (const std::bad_alloc&) {
    set_last_error(GHTIER_ERROR_OUT_OF_MEMORY, std::string(function) + ": out of host memory");
    return GHTIER_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_last_error(GHTIER_ERROR_INTERNAL, std::string(function) + ": " + e.what());
    return GHTIER_ERROR_INTERNAL;
  } catch (...) {
    set_last_error(GHTIER_ERROR_INTERNAL, std::string(function) + ": unknown exception");
    return GHTIER_ERROR_INTERNAL;
  }
}

}  // namespace ghtier::capi
