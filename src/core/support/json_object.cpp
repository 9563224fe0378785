// parse_json_object and dump_json_document.
#include "core/support/json_object.hpp"

#include <set>
#include <vector>

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier::detail {

nlohmann::json parse_json_object(std::string_view text, std::string_view what) {
  // nlohmann keeps the last of two equal keys; a saved file with one is more likely a mistake than a wish.
  std::vector<std::set<std::string>> keys_by_depth;
  auto refuse_duplicates = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    const auto level = static_cast<std::size_t>(depth);
    if (event == Event::object_start) {
      if (keys_by_depth.size() <= level) keys_by_depth.resize(level + 1);
      keys_by_depth[level].clear();
    } else if (event == Event::key && level >= 1 && level <= keys_by_depth.size()) {
      const auto& name = parsed.get_ref<const std::string&>();
      if (!keys_by_depth[level - 1].insert(name).second) {
        throw_error(ErrorCode::invalid_argument, fmt::format("{} JSON: key \"{}\" appears twice", what, name));
      }
    }
    return true;
  };
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text.begin(), text.end(), refuse_duplicates);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann counts bytes from 1 (the byte it stopped at); the offset here counts from 0.
    throw_error(ErrorCode::invalid_argument,
                fmt::format("malformed {} JSON at offset {}: {}", what, e.byte > 0 ? e.byte - 1 : 0, e.what()));
  } catch (const nlohmann::json::exception& e) {
    // Well-formed text nlohmann still refuses, e.g. a number past double's range (1e400: out_of_range 406).
    throw_error(ErrorCode::invalid_argument, fmt::format("unreadable {} JSON: {}", what, e.what()));
  }
  if (!json.is_object()) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("{} JSON must be one object ({{...}}), got a {}", what, json.type_name()));
  }
  return json;
}

std::string dump_json_document(const nlohmann::ordered_json& json) {
  return json.dump(2, ' ', /*ensure_ascii=*/false, nlohmann::ordered_json::error_handler_t::replace) + '\n';
}

}  // namespace ghtier::detail
