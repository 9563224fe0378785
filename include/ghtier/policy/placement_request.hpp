// PlacementRequest: what a piece of data is (size, who touches it, how often), the input of every tier
// policy. It says nothing about where the data goes: that is the policy's answer (Placement).
#pragma once

#include "ghtier/export.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ghtier {

/// Which processors touch the data.
enum class Accessor {
  gpu,   ///< only kernels
  cpu,   ///< only CPU code (the GPU sees it, if at all, through copies)
  both,  ///< kernels and CPU code
};

/// How the data is touched over its life.
enum class AccessFrequency {
  hot,            ///< touched again and again (weights in use, a working set)
  warm,           ///< touched now and then (the next layer's weights, a KV cache of a paused request)
  cold,           ///< rarely touched (offloaded activations, a spilled cache)
  streamed_once,  ///< read (or written) once, front to back (an input batch, a checkpoint)
};

/// Larger requests are refused as absurd (64 PiB; the allocation resources draw the same line).
inline constexpr std::size_t max_request_bytes = std::size_t{1} << 56;

struct GHTIER_API PlacementRequest {
  std::size_t bytes = 0;  ///< must be > 0 and <= max_request_bytes
  Accessor accessor = Accessor::gpu;
  AccessFrequency frequency = AccessFrequency::hot;
  bool read_mostly = false;  ///< written seldom, read often
  std::string tag;           ///< free text, kept with the allocation ("kv-cache", ...)
};

[[nodiscard]] GHTIER_API std::string_view to_string(Accessor accessor) noexcept;
[[nodiscard]] GHTIER_API std::string_view to_string(AccessFrequency frequency) noexcept;
/// "gpu" | "cpu" | "both" -> Accessor; nullopt for anything else.
[[nodiscard]] GHTIER_API std::optional<Accessor> parse_accessor(std::string_view text) noexcept;
/// "hot" | "warm" | "cold" | "streamed_once" -> AccessFrequency; nullopt for anything else.
[[nodiscard]] GHTIER_API std::optional<AccessFrequency> parse_access_frequency(std::string_view text) noexcept;

/// Throws Error(invalid_argument) naming the field when bytes is 0 or absurd, or an enum holds a value outside it
/// (e.g. a C caller's out-of-range integer).
GHTIER_API void validate(const PlacementRequest& request);

}  // namespace ghtier
