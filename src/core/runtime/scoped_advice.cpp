// ScopedAdvice: applies what a phase wants, remembering how to put back what was there before.
#include "ghtier/runtime/scoped_advice.hpp"

#include <fmt/format.h>

#include "core/memory/range_advice.hpp"
#include "core/support/device_selection.hpp"
#include "core/support/log_nothrow.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {
struct PreviousAdvice {
  bool read_mostly = false;
  Location preferred = Location::none;
  bool accessed_by_gpu = false;
  bool accessed_by_cpu = false;
};

PreviousAdvice previous_advice(const Runtime& runtime, const void* p, std::size_t bytes, MemoryMode mode) {
  PreviousAdvice before;
  if (mode == MemoryMode::managed) {
    detail::ScopedDevice on_device(runtime.device());
    const detail::RangeAdvice now = detail::query_range_advice(p, bytes, runtime.device());
    before.read_mostly = now.read_mostly;
    before.preferred = now.preferred.location;
    before.accessed_by_gpu = now.accessed_by_device;
    before.accessed_by_cpu = now.accessed_by_host;
  } else if (const auto placement = runtime.placement_of(p)) {
    // System memory: the driver cannot be asked; the placement's advice is what ghtier applied.
    before.read_mostly = placement->read_mostly;
    before.preferred = placement->preferred_location;
    before.accessed_by_gpu = placement->accessed_by.gpu;
    before.accessed_by_cpu = placement->accessed_by.cpu;
  }
  return before;
}
}  // namespace

ScopedAdvice::ScopedAdvice(Runtime& runtime, const Buffer& buffer, const AdviceSet& advice, cudaStream_t stream)
    : ScopedAdvice(runtime, buffer.data(), buffer.size(), advice, stream) {}

ScopedAdvice::ScopedAdvice(Runtime& runtime, const void* p, std::size_t bytes, const AdviceSet& advice,
                           cudaStream_t stream)
    : runtime_(runtime), p_(p), bytes_(bytes) {
  if (runtime.offline()) {
    throw_error(ErrorCode::unsupported, "ScopedAdvice: the runtime is offline (assumed profile, no GPU)");
  }
  if (p == nullptr || bytes == 0) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("ScopedAdvice: a range needs a pointer and a size (got {} and {} bytes)", p, bytes));
  }
  if (advice.preferred_location != Location::none && advice.preferred_location != Location::device &&
      advice.preferred_location != Location::host) {
    throw_error(ErrorCode::invalid_argument, "ScopedAdvice: preferred_location is not a Location");
  }
  const auto record = runtime.find(p);
  if (!record) {
    throw_error(ErrorCode::not_found,
                fmt::format("ScopedAdvice: {} is not inside a live allocation of this runtime", p));
  }
  const PreviousAdvice before = previous_advice(runtime, p, bytes, record->mode);
  try {
    if (advice.read_mostly && !before.read_mostly) {
      runtime.advise(p, bytes, Advice::set_read_mostly);
      undo_.push_back({Advice::unset_read_mostly, Location::none});
    }
    if (advice.preferred_location != Location::none && advice.preferred_location != before.preferred) {
      runtime.advise(p, bytes, Advice::set_preferred_location, advice.preferred_location);
      undo_.push_back(before.preferred != Location::none ? Undo{Advice::set_preferred_location, before.preferred}
                                                         : Undo{Advice::unset_preferred_location, Location::none});
    }
    if (advice.accessed_by.gpu && !before.accessed_by_gpu) {
      runtime.advise(p, bytes, Advice::set_accessed_by, Location::device);
      undo_.push_back({Advice::unset_accessed_by, Location::device});
    }
    if (advice.accessed_by.cpu && !before.accessed_by_cpu) {
      runtime.advise(p, bytes, Advice::set_accessed_by, Location::host);
      undo_.push_back({Advice::unset_accessed_by, Location::host});
    }
    if (advice.prefetch_to != Location::none) runtime.prefetch(p, bytes, advice.prefetch_to, stream);
  } catch (...) {
    undo();
    throw;
  }
}

ScopedAdvice::~ScopedAdvice() { undo(); }

void ScopedAdvice::undo() noexcept {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    try {
      runtime_.advise(p_, bytes_, it->advice, it->location);
    } catch (const Error& e) {  // first: OutOfMemoryError is not caught as std::exception (see error.hpp)
      detail::log_nothrow(LogLevel::error, "ScopedAdvice: could not undo {} on {} ({} bytes): {}",
                          to_string(it->advice), p_, bytes_, e.what());
    } catch (const std::exception& e) {
      detail::log_nothrow(LogLevel::error, "ScopedAdvice: could not undo {} on {} ({} bytes): {}",
                          to_string(it->advice), p_, bytes_, e.what());
    }
  }
  undo_.clear();
}

}  // namespace ghtier
