// The two JSON chores ghtier has, over nlohmann_json: reading one object back (saved link models) with
// errors that say what was wrong, and writing a document in one look (two-space indent, newline at the end)
// for `ghtier info --json`, link models and bench summaries.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ghtier::detail {

/// Parses `text` as one JSON object. `what` names the document in errors ("link model").
/// Throws Error(invalid_argument) naming the offset and the problem: malformed JSON, a value other than an
/// object at the top, or a key given twice in one object (nlohmann would silently keep the last one).
[[nodiscard]] nlohmann::json parse_json_object(std::string_view text, std::string_view what);

/// Pretty-printed with two-space indents and a final newline; keys keep their insertion order. Non-finite
/// numbers are written as null, invalid UTF-8 in strings is replaced (U+FFFD) rather than thrown on.
[[nodiscard]] std::string dump_json_document(const nlohmann::ordered_json& json);

}  // namespace ghtier::detail
