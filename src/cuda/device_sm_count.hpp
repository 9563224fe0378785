// current_sm_count: the SM count of the current device, which sizes every direct-access kernel's grid;
// cached per device because launches ask for it on every call.
#pragma once

namespace ghtier::detail {

/// Multiprocessors of the current device. Throws Error(no_device, cuda_error).
[[nodiscard]] int current_sm_count();

}  // namespace ghtier::detail
