// Names of the request enums and request validation (shared by every policy, the runtime and the C API).
#include "ghtier/placement_request.hpp"

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier {

std::string_view to_string(Accessor accessor) noexcept {
  switch (accessor) {
    case Accessor::gpu: return "gpu";
    case Accessor::cpu: return "cpu";
    case Accessor::both: return "both";
  }
  return "unknown";
}

std::string_view to_string(AccessFrequency frequency) noexcept {
  switch (frequency) {
    case AccessFrequency::hot: return "hot";
    case AccessFrequency::warm: return "warm";
    case AccessFrequency::cold: return "cold";
    case AccessFrequency::streamed_once: return "streamed_once";
  }
  return "unknown";
}

std::optional<Accessor> parse_accessor(std::string_view text) noexcept {
  for (Accessor a : {Accessor::gpu, Accessor::cpu, Accessor::both}) {
    if (to_string(a) == text) return a;
  }
  return std::nullopt;
}

std::optional<AccessFrequency> parse_access_frequency(std::string_view text) noexcept {
  for (AccessFrequency f :
       {AccessFrequency::hot, AccessFrequency::warm, AccessFrequency::cold, AccessFrequency::streamed_once}) {
    if (to_string(f) == text) return f;
  }
  return std::nullopt;
}

void validate(const PlacementRequest& request) {
  if (request.bytes == 0) {
    throw Error(ErrorCode::invalid_argument, "placement request: bytes is 0 (an allocation needs at least one byte)");
  }
  if (request.bytes > max_request_bytes) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("placement request: bytes = {} is absurd (more than {} bytes)", request.bytes,
                            max_request_bytes));
  }
  if (to_string(request.accessor) == "unknown") {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("placement request: accessor {} is not one of gpu, cpu, both",
                            static_cast<int>(request.accessor)));
  }
  if (to_string(request.frequency) == "unknown") {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("placement request: frequency {} is not one of hot, warm, cold, streamed_once",
                            static_cast<int>(request.frequency)));
  }
}

}  // namespace ghtier
