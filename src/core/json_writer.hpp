// A small streaming JSON writer for ghtier's own output (ghtier info --json, link models, bench summaries).
// Neither build machine ships a JSON library, so this stays deliberately tiny: objects, arrays, scalars.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ghtier::detail {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  /// The next value belongs to this key (only inside an object).
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(double number);
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }
  JsonWriter& value(std::uint64_t number);
  JsonWriter& value(bool flag);
  JsonWriter& null();

  [[nodiscard]] const std::string& str() const noexcept { return out_; }

 private:
  void separate();
  void indent();
  std::string out_;
  std::vector<bool> first_in_scope_;
  bool after_key_ = false;
};

/// Escapes a string for a JSON document (quotes included).
[[nodiscard]] std::string json_quote(std::string_view text);

}  // namespace ghtier::detail
