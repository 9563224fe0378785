// Names of the request enums and request validation (shared by every policy, the runtime and the C API).
#include "ghtier/policy/placement_request.hpp"

#include <fmt/format.h>

#include "core/support/enum_names.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

constexpr detail::EnumName<Accessor> accessor_names[] = {
    {Accessor::gpu, "gpu"},
    {Accessor::cpu, "cpu"},
    {Accessor::both, "both"},
};
static_assert(detail::enum_names_complete(accessor_names, Accessor::gpu, Accessor::both));

std::string_view to_string(Accessor accessor) noexcept { return detail::enum_to_string(accessor_names, accessor); }

constexpr detail::EnumName<AccessFrequency> access_frequency_names[] = {
    {AccessFrequency::hot, "hot"},
    {AccessFrequency::warm, "warm"},
    {AccessFrequency::cold, "cold"},
    {AccessFrequency::streamed_once, "streamed_once"},
};
static_assert(detail::enum_names_complete(access_frequency_names, AccessFrequency::hot,
                                          AccessFrequency::streamed_once));

std::string_view to_string(AccessFrequency frequency) noexcept {
  return detail::enum_to_string(access_frequency_names, frequency);
}

std::optional<Accessor> parse_accessor(std::string_view text) noexcept {
  return detail::enum_parse(accessor_names, text);
}

std::optional<AccessFrequency> parse_access_frequency(std::string_view text) noexcept {
  return detail::enum_parse(access_frequency_names, text);
}

void validate(const PlacementRequest& request) {
  if (request.bytes == 0) {
    throw_error(ErrorCode::invalid_argument, "placement request: bytes is 0 (an allocation needs at least one byte)");
  }
  if (request.bytes > max_request_bytes) {
    throw_error(ErrorCode::invalid_argument, fmt::format("placement request: bytes = {} is absurd (more than {} bytes)",
                                                         request.bytes, max_request_bytes));
  }
  if (to_string(request.accessor) == "unknown") {
    throw_error(ErrorCode::invalid_argument, fmt::format("placement request: accessor {} is not one of gpu, cpu, both",
                                                         static_cast<int>(request.accessor)));
  }
  if (to_string(request.frequency) == "unknown") {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("placement request: frequency {} is not one of hot, warm, cold, streamed_once",
                            static_cast<int>(request.frequency)));
  }
}

}  // namespace ghtier
