// nn/json: parsing and writing (round trips, key order, escapes, surrogate
// pairs, int64 limits, doubles), typed access, and a table of malformed inputs
// that must each give a gradlab::Error with a useful message, plus a seeded
// mutation fuzz that asserts the parser only ever returns or throws Error.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "nn/json.h"

using namespace gradlab;

TEST_CASE("json: values parse to the right kinds and objects keep their key order") {
  const Json v = Json::parse(R"( {"z": 1, "a": [true, false, null], "m": "s", "d": -2.5, "o": {}} )");
  REQUIRE(v.is_object());
  const Json::Object& o = v.as_object();
  REQUIRE(o.size() == 5);
  CHECK(o[0].first == "z");
  CHECK(o[1].first == "a");
  CHECK(o[2].first == "m");
  CHECK(o[3].first == "d");
  CHECK(o[4].first == "o");
  CHECK(o[0].second.as_int() == 1);
  CHECK(o[1].second.as_array().size() == 3);
  CHECK(o[1].second.as_array()[0].as_bool() == true);
  CHECK(o[1].second.as_array()[1].as_bool() == false);
  CHECK(o[1].second.as_array()[2].is_null());
  CHECK(o[2].second.as_string() == "s");
  CHECK(o[3].second.kind() == Json::Kind::number);
  CHECK(o[3].second.as_double() == -2.5);
  CHECK(o[4].second.as_object().empty());
  REQUIRE(v.find("m") != nullptr);
  CHECK(v.find("m")->as_string() == "s");
  CHECK(v.find("missing") == nullptr);
  // Integers convert to double on request; the other direction is refused.
  CHECK(Json::parse("7").as_double() == 7.0);
  CHECK_THROWS_WITH_AS(Json::parse("7.0").as_int(), doctest::Contains("expected integer, got number"), Error);
  CHECK_THROWS_WITH_AS(Json(1).as_string(), doctest::Contains("expected string, got integer"), Error);
  CHECK_THROWS_WITH_AS(Json("x").find("k"), doctest::Contains("expected object, got string"), Error);
}

TEST_CASE("json: compact documents round-trip byte for byte") {
  const std::vector<std::string> docs = {
      "null",
      "true",
      "false",
      "0",
      "-1",
      "\"\"",
      "[]",
      "{}",
      "[[],[[]],{}]",
      R"({"a":1,"b":[1,2,{"c":null}],"d":"x"})",
      R"({"z":0,"y":1,"x":2})",  // not sorted: the order of appearance is kept
      "0.5",
      "-0.0",
      "1e+300",
      "5e-324",
      "0.1",
      R"("caf\u00e9")",
  };
  for (const std::string& doc : docs) {
    CAPTURE(doc);
    const Json v = Json::parse(doc);
    if (doc == R"("caf\u00e9")") {
      CHECK(v.dump() == "\"caf\xc3\xa9\"");  // written as raw UTF-8
    } else {
      CHECK(v.dump() == doc);
    }
    CHECK(Json::parse(v.dump()) == v);
  }
  // Whitespace is accepted around every token and dropped on output.
  CHECK(Json::parse(" \t\r\n[ 1 , { \"k\" : [ ] } ]\n").dump() == R"([1,{"k":[]}])");
}

TEST_CASE("json: built values write compactly and read back equal") {
  Json::Object o;
  o.emplace_back("int", Json(int64_t(42)));
  o.emplace_back("double", Json(3.0));  // must stay a double: written as 3.0
  o.emplace_back("tiny", Json(1e-7));
  o.emplace_back("list", Json(Json::Array{Json(1), Json("two"), Json(nullptr), Json(false)}));
  const Json v(std::move(o));
  CHECK(v.dump() == R"({"int":42,"double":3.0,"tiny":1e-07,"list":[1,"two",null,false]})");
  const Json back = Json::parse(v.dump());
  CHECK(back == v);
  CHECK(back.find("double")->kind() == Json::Kind::number);
  CHECK(back.find("int")->kind() == Json::Kind::integer);
  // Doubles come back bit-exactly from their shortest form.
  for (double d : {0.1, 1.0 / 3.0, -1e-300, 1.7976931348623157e308, 4.9406564584124654e-324, 123456789.125}) {
    CAPTURE(d);
    CHECK(Json::parse(Json(d).dump()).as_double() == d);
  }
  CHECK_THROWS_WITH_AS(Json(std::numeric_limits<double>::quiet_NaN()).dump(), doctest::Contains("non-finite"), Error);
  CHECK_THROWS_WITH_AS(Json(std::numeric_limits<double>::infinity()).dump(), doctest::Contains("non-finite"), Error);
  CHECK_THROWS_WITH_AS(Json(std::string("bad \xff byte")).dump(), doctest::Contains("invalid UTF-8"), Error);
}

TEST_CASE("json: string escapes, \\u escapes and surrogate pairs") {
  CHECK(Json::parse(R"("\"\\\/\b\f\n\r\t")").as_string() == "\"\\/\b\f\n\r\t");
  CHECK(Json::parse(R"("\u0041\u00e9\u20AC")").as_string() == "A\xc3\xa9\xe2\x82\xac");  // A, e-acute, euro
  CHECK(Json::parse(R"("\uD83D\uDE00")").as_string() == "\xf0\x9f\x98\x80");             // U+1F600
  CHECK(Json::parse(R"("\udbff\udfff")").as_string() == "\xf4\x8f\xbf\xbf");             // U+10FFFF
  const std::string with_nul = Json::parse(R"("a\u0000b")").as_string();
  CHECK(with_nul == std::string("a\0b", 3));
  // Raw UTF-8 passes through unchanged, in both directions.
  CHECK(Json::parse("\"\xe2\x9c\x93 \xf0\x9f\x98\x80\"").as_string() == "\xe2\x9c\x93 \xf0\x9f\x98\x80");
  // The writer escapes quotes, backslashes and control characters only.
  const std::string tricky = std::string("q\"b\\n\n\x01\x1f/\xc3\xa9") + std::string(1, '\0');
  const std::string written = Json(tricky).dump();
  CHECK(written == "\"q\\\"b\\\\n\\n\\u0001\\u001f/\xc3\xa9\\u0000\"");
  CHECK(Json::parse(written).as_string() == tricky);
}

TEST_CASE("json: integers are exact int64 and overflow is an error") {
  CHECK(Json::parse("9223372036854775807").as_int() == std::numeric_limits<int64_t>::max());
  CHECK(Json::parse("-9223372036854775808").as_int() == std::numeric_limits<int64_t>::min());
  CHECK(Json(std::numeric_limits<int64_t>::max()).dump() == "9223372036854775807");
  CHECK(Json(std::numeric_limits<int64_t>::min()).dump() == "-9223372036854775808");
  CHECK(Json::parse("9007199254740993").as_int() == 9007199254740993);  // not representable as a double
  CHECK(Json::parse("-0").as_int() == 0);
  CHECK_THROWS_WITH_AS(Json::parse("9223372036854775808"), doctest::Contains("does not fit in int64"), Error);
  CHECK_THROWS_WITH_AS(Json::parse("-9223372036854775809"), doctest::Contains("does not fit in int64"), Error);
  CHECK_THROWS_WITH_AS(Json::parse("[1, 99999999999999999999999]"),
                       doctest::Contains("integer 99999999999999999999999 does not fit in int64 at byte 4"), Error);
  CHECK(Json::parse("1E2").as_double() == 100.0);
  CHECK(Json::parse("1E2").kind() == Json::Kind::number);
  CHECK(Json::parse("-2.5e-3").as_double() == -0.0025);
  CHECK_THROWS_WITH_AS(Json::parse("1e400"), doctest::Contains("outside the range of a double"), Error);
}

TEST_CASE("json: nesting up to the limit parses, deeper is refused without recursion") {
  const int limit = Json::kMaxDepth;
  const std::string ok = std::string(size_t(limit), '[') + std::string(size_t(limit), ']');
  CHECK(Json::parse(ok).dump() == ok);
  const std::string deep = std::string(size_t(limit) + 1, '[') + std::string(size_t(limit) + 1, ']');
  CHECK_THROWS_WITH_AS(Json::parse(deep), doctest::Contains("nesting deeper than 64 levels at byte 64"), Error);
  // A megabyte of openers must not exhaust the stack.
  CHECK_THROWS_WITH_AS(Json::parse(std::string(1 << 20, '[')), doctest::Contains("nesting deeper"), Error);
  std::string objects;
  for (int i = 0; i <= limit; ++i) objects += "{\"k\":";
  CHECK_THROWS_WITH_AS(Json::parse(objects), doctest::Contains("nesting deeper than 64"), Error);
}

TEST_CASE("json: malformed inputs give errors naming the problem and the byte") {
  struct Case {
    std::string text;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"", "expected a value, found end of input at byte 0"},
      {"   ", "expected a value, found end of input at byte 3"},
      {"\"abc", "unterminated string at byte 0"},
      {"[\"abc\\", "unterminated string at byte 1"},
      {"\"\\x\"", "bad escape character 'x' after '\\' at byte 1"},
      {"\"\\u12\"", "bad \\u escape (expected four hex digits) at byte 1"},
      {"\"\\u12G4\"", "bad \\u escape"},
      {"\"\\uD800\"", "lone high surrogate \\uD800 at byte 1"},
      {"\"\\uD800x\"", "lone high surrogate"},
      {"\"\\uDC00\"", "lone low surrogate \\uDC00 at byte 1"},
      {"\"\\uD800\\u0041\"", "followed by \\u0041, not a low surrogate"},
      {"\"\\uD800\\uD800\"", "not a low surrogate"},
      {"[1,2,]", "trailing comma before ']' at byte 5"},
      {"{\"a\":1,}", "trailing comma before '}' at byte 7"},
      {"{\"a\":1,\"a\":2}", "duplicate key \"a\" at byte 7"},
      {"{\"a\":{\"b\":1,\"b\":1}}", "duplicate key \"b\" at byte 12"},
      {"{} x", "unexpected 'x' after the value at byte 3"},
      {"1 2", "unexpected '2' after the value at byte 2"},
      {std::string("[1]\0", 4), "unexpected byte 0x00 after the value at byte 3"},
      {"{\"a\" 1}", "expected ':', found '1' at byte 5"},
      {"{1:2}", "expected a string key, found '1' at byte 1"},
      {"[1 2]", "expected ',' or ']' in an array, found '2' at byte 3"},
      {"{\"a\":1 \"b\":2}", "expected ',' or '}' in an object, found '\"' at byte 7"},
      {"[", "expected a value, found end of input at byte 1"},
      {"{", "expected a string key, found end of input at byte 1"},
      {"{\"a\":", "expected a value, found end of input at byte 5"},
      {"01", "leading zeros at byte 0"},
      {"-", "expected a digit, found end of input at byte 1"},
      {"-a", "expected a digit, found 'a' at byte 1"},
      {"1.", "expected a digit after '.'"},
      {"1.e3", "expected a digit after '.'"},
      {"1e", "expected a digit in the exponent"},
      {"1e+", "expected a digit in the exponent"},
      {"+1", "expected a value, found '+' at byte 0"},
      {".5", "expected a value, found '.'"},
      {"tru", "invalid literal (expected true) at byte 0"},
      {"nul", "invalid literal (expected null)"},
      {"True", "expected a value, found 'T'"},
      {"NaN", "expected a value, found 'N'"},
      {"Infinity", "expected a value, found 'I'"},
      {"'a'", "expected a value, found '''"},
      {"\"a\x01z\"", "unescaped control character 0x01 in a string at byte 2"},
      {"\"tab\there\"", "unescaped control character 0x09"},
      {"\"\xff\"", "invalid UTF-8 byte 0xff in a string at byte 1"},
      {"\"\xc0\xaf\"", "invalid UTF-8 byte 0xc0"},                        // overlong '/'
      {"\"\xe0\x80\xaf\"", "invalid UTF-8 byte 0xe0"},                    // overlong, three bytes
      {"\"\xed\xa0\x80\"", "invalid UTF-8 byte 0xed"},                    // a surrogate encoded as UTF-8
      {"\"\xf4\x90\x80\x80\"", "invalid UTF-8 byte 0xf4"},                // above U+10FFFF
      {"\"\xe2\x82\"", "invalid UTF-8 byte 0xe2"},                        // truncated sequence
      {"\xef\xbb\xbf{}", "expected a value, found byte 0xef at byte 0"},  // a byte-order mark
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    CHECK_THROWS_WITH_AS(Json::parse(c.text), doctest::Contains(c.message), Error);
    CHECK_THROWS_WITH_AS(Json::parse(c.text), doctest::Contains("json: "), Error);
  }
}

TEST_CASE("json: mutated documents either parse or throw gradlab::Error, and what parses round-trips") {
  const std::vector<std::string> seeds = {
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})",
      R"([1,-2.5e-3,"a\u00e9\uD83D\uDE00",true,false,null,{"k":[[]]}])",
  };
  const std::string alphabet = "{}[]\",:\\u0123456789abcdefEe+-.tnlrsDdCc \x01\x7f\xc3\xa9\xed\xf0\xff";
  std::mt19937_64 rng(1234);
  int parsed = 0, refused = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s = seeds[size_t(iter) % seeds.size()];
    const int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t at = rng() % s.size();
      const char c = alphabet[rng() % alphabet.size()];
      // Replace one byte, insert one, or delete a few.
      const uint64_t how = rng() % 3;
      if (how == 0)
        s[at] = c;
      else if (how == 1)
        s.insert(s.begin() + long(at), c);
      else
        s.erase(at, 1 + rng() % 3);
    }
    try {
      const Json v = Json::parse(s);
      ++parsed;
      CHECK(Json::parse(v.dump()) == v);
    } catch (const Error&) {
      ++refused;
    }
  }
  // Both outcomes occur, so the loop really exercised the error paths.
  CHECK(parsed > 100);
  CHECK(refused > 1000);
}
