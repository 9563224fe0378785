// A strict parser for one flat JSON object.
#include "core/flat_json.hpp"

#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::map<std::string, FlatJsonValue> object() {
    std::map<std::string, FlatJsonValue> out;
    expect('{');
    skip_space();
    if (peek() == '}') {
      ++pos_;
      finish();
      return out;
    }
    while (true) {
      std::string name = string();
      expect(':');
      FlatJsonValue v = value(name);
      if (!out.emplace(name, std::move(v)).second) fail(fmt::format("duplicate key \"{}\"", name));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      finish();
      return out;
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::invalid_argument, fmt::format("malformed JSON at offset {}: {}", pos_, what));
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(fmt::format("expected '{}'", c));
    ++pos_;
  }
  void finish() {
    skip_space();
    if (pos_ != text_.size()) fail("trailing characters after the object");
  }
  std::string string() {
    expect('"');
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\') {
        if (pos_ >= text_.size()) fail("unterminated escape");
        char e = text_[pos_++];
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          default: fail(fmt::format("unsupported escape \\{}", e));
        }
      } else {
        out += c;
      }
    }
    if (peek() != '"') fail("unterminated string");
    ++pos_;
    return out;
  }
  FlatJsonValue value(const std::string& name) {
    skip_space();
    char c = peek();
    if (c == '"') return string();
    if (text_.substr(pos_, 4) == "true") {
      pos_ += 4;
      return true;
    }
    if (text_.substr(pos_, 5) == "false") {
      pos_ += 5;
      return false;
    }
    if (c == '{' || c == '[') fail(fmt::format("value of \"{}\" is nested; only flat objects are read", name));
    double number = 0;
    auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), number);
    if (ec != std::errc{}) fail(fmt::format("value of \"{}\" is not a number, string or bool", name));
    pos_ = static_cast<std::size_t>(end - text_.data());
    return number;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};
}  // namespace

std::map<std::string, FlatJsonValue> parse_flat_json_object(std::string_view text) { return Parser(text).object(); }

}  // namespace ghtier::detail
