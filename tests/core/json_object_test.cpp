// parse_json_object and dump_json_document: the strictness that nlohmann does not give by itself (duplicate
// keys, a non-object document, errors that name the document) and the look of what ghtier writes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "core/support/json_object.hpp"
#include "test_support.hpp"

using namespace ghtier;

namespace {

std::string error_text(std::string_view text) {
  try {
    (void)detail::parse_json_object(text, "test document");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    return e.what();
  }
  ADD_FAILURE() << "no error for " << text;
  return {};
}

TEST(JsonObject, ReadsAnObjectWithRandomValues) {
  auto rng = test::fresh_rng();
  std::uniform_real_distribution<double> value(-1e6, 1e6);
  const double a = value(rng), b = value(rng);
  const std::string text = "{\"a\": " + nlohmann::json(a).dump() + ", \"nested\": {\"b\": " + nlohmann::json(b).dump() +
                           "}, \"s\": \"x\\ny\", \"flag\": true}";
  const nlohmann::json json = detail::parse_json_object(text, "test document");
  EXPECT_EQ(json.at("a").get<double>(), a);
  EXPECT_EQ(json.at("nested").at("b").get<double>(), b);
  EXPECT_EQ(json.at("s").get<std::string>(), "x\ny");
  EXPECT_TRUE(json.at("flag").get<bool>());
}

TEST(JsonObject, RefusesMalformedTextAndNamesDocumentAndOffset) {
  const std::string truncated = error_text("{\"a\": 1");
  EXPECT_NE(truncated.find("test document"), std::string::npos) << truncated;
  EXPECT_NE(truncated.find("offset 7"), std::string::npos) << truncated;
  EXPECT_NE(error_text("").find("malformed"), std::string::npos);
  EXPECT_NE(error_text("{\"a\": 1} x").find("malformed"), std::string::npos);
  EXPECT_NE(error_text("{\"a\": nan}").find("malformed"), std::string::npos);
}

// Found by tests/fuzz/link_profile_fuzzer: nlohmann's out_of_range (a number past double's range) escaped as
// a foreign exception instead of an invalid_argument Error.
TEST(JsonObject, RefusesANumberPastDoubleRange) {
  const std::string text = error_text("{\"h2d_gbps\": 44444444444444444E44444}");
  EXPECT_NE(text.find("test document JSON"), std::string::npos) << text;
  EXPECT_NE(error_text("{\"a\": [1, -1e400]}").find("test document"), std::string::npos);
}

TEST(JsonObject, RefusesDocumentsThatAreNotObjects) {
  EXPECT_NE(error_text("[1, 2]").find("array"), std::string::npos);
  EXPECT_NE(error_text("42").find("number"), std::string::npos);
  EXPECT_NE(error_text("\"text\"").find("string"), std::string::npos);
}

TEST(JsonObject, RefusesAKeyGivenTwiceInOneObject) {
  EXPECT_NE(error_text("{\"h2d_gbps\": 1, \"h2d_gbps\": 2}").find("\"h2d_gbps\" appears twice"), std::string::npos);
  EXPECT_NE(error_text("{\"o\": {\"k\": 1, \"k\": 2}}").find("\"k\" appears twice"), std::string::npos);
  // The same key in sibling objects, or at two depths, is fine.
  EXPECT_NO_THROW((void)detail::parse_json_object(
      "{\"k\": {\"k\": 1}, \"o\": {\"k\": 2}, \"p\": [{\"k\": 1}, {\"k\": 2}]}", "test document"));
}

TEST(JsonObject, DumpsInInsertionOrderWithTwoSpacesAndAFinalNewline) {
  nlohmann::ordered_json json;
  json["z"] = 1;
  json["a"] = {{"inner", true}};
  json["list"] = nlohmann::ordered_json::array({1, 2});
  json["empty"] = nlohmann::ordered_json::object();
  EXPECT_EQ(detail::dump_json_document(json),
            "{\n  \"z\": 1,\n  \"a\": {\n    \"inner\": true\n  },\n  \"list\": [\n    1,\n    2\n  ],\n"
            "  \"empty\": {}\n}\n");
}

TEST(JsonObject, DumpWritesNonFiniteAsNullAndSurvivesInvalidUtf8) {
  nlohmann::ordered_json json;
  json["nan"] = std::nan("");
  json["inf"] = std::numeric_limits<double>::infinity();
  json["bytes"] = std::string("ok\xff");
  std::string text;
  ASSERT_NO_THROW(text = detail::dump_json_document(json));
  EXPECT_NE(text.find("\"nan\": null"), std::string::npos) << text;
  EXPECT_NE(text.find("\"inf\": null"), std::string::npos) << text;
  EXPECT_NE(text.find("\"bytes\": \"ok\xef\xbf\xbd\""), std::string::npos) << text;
  EXPECT_NO_THROW((void)detail::parse_json_object(text, "test document")) << "what we write reads back";
}

}  // namespace
