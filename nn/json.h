// Json: a small, strict JSON value with a parser and a compact writer, enough
// for safetensors headers. Objects keep their keys in order of appearance;
// integers are exact int64 (overflow is an error, never rounded to a double).
// The parser never recurses deeper than kMaxDepth and every error names the
// byte offset (0-based) where it was found: "json: expected ':' at byte 17".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tensor/error.h"

namespace gradlab {

class Json {
 public:
  enum class Kind { null, boolean, integer, number, string, array, object };
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  // Deeper nesting of arrays and objects than this is refused by parse().
  static constexpr int kMaxDepth = 64;

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool b) : v_(b) {}
  Json(int v) : v_(int64_t(v)) {}
  Json(int64_t v) : v_(v) {}
  Json(double v) : v_(v) {}
  Json(std::string s) : v_(std::move(s)) {}
  Json(const char* s) : v_(std::string(s)) {}
  Json(Array a) : v_(std::move(a)) {}
  Json(Object o) : v_(std::move(o)) {}

  Kind kind() const { return Kind(v_.index()); }
  bool is_null() const { return kind() == Kind::null; }
  bool is_bool() const { return kind() == Kind::boolean; }
  bool is_int() const { return kind() == Kind::integer; }
  bool is_number() const { return kind() == Kind::integer || kind() == Kind::number; }
  bool is_string() const { return kind() == Kind::string; }
  bool is_array() const { return kind() == Kind::array; }
  bool is_object() const { return kind() == Kind::object; }

  // Typed access; each throws gradlab::Error naming the expected and actual kind.
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;  // integers convert
  const std::string& as_string() const;
  const Array& as_array() const;
  const Object& as_object() const;
  Array& as_array();
  Object& as_object();

  // The value under `key` in an object, or nullptr when absent (throws if not an object).
  const Json* find(std::string_view key) const;

  // Compact JSON: no whitespace, strings escaped, doubles in shortest
  // round-trip form with a '.' or exponent so they read back as doubles.
  // Throws for NaN or infinity (JSON has neither) and for invalid UTF-8.
  std::string dump() const;

  // Parses exactly one JSON value, surrounded only by whitespace. Throws
  // gradlab::Error for anything else: bad syntax, trailing garbage, duplicate
  // keys, invalid UTF-8, lone surrogates, integers outside int64, doubles
  // outside the finite range, nesting deeper than kMaxDepth.
  static Json parse(std::string_view text);

  friend bool operator==(const Json& a, const Json& b) { return a.v_ == b.v_; }

 private:
  // The order of the alternatives matches Kind.
  std::variant<std::monostate, bool, int64_t, double, std::string, Array, Object> v_;
};

std::string_view json_kind_name(Json::Kind kind);

}  // namespace gradlab
