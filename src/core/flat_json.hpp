// Parses one flat JSON object ({"key": number | string | bool, ...}): all that ghtier reads back
// (saved link models, calibration files). Nested values are refused with a clear error.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <variant>

namespace ghtier::detail {

using FlatJsonValue = std::variant<double, std::string, bool>;

/// Throws Error(invalid_argument) with the offset and what was expected on malformed input.
[[nodiscard]] std::map<std::string, FlatJsonValue> parse_flat_json_object(std::string_view text);

}  // namespace ghtier::detail
