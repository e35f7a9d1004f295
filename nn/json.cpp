// The JSON parser (a recursive-descent reader over a string_view, depth-bounded,
// every error carrying its byte offset) and the compact writer. Strings are
// checked to be valid UTF-8 on the way in and on the way out, so whatever
// dump() writes, parse() reads back.
#include "nn/json.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <unordered_set>

#include "tensor/error.h"

namespace gradlab {

std::string_view json_kind_name(Json::Kind kind) {
  switch (kind) {
    case Json::Kind::null: return "null";
    case Json::Kind::boolean: return "boolean";
    case Json::Kind::integer: return "integer";
    case Json::Kind::number: return "number";
    case Json::Kind::string: return "string";
    case Json::Kind::array: return "array";
    case Json::Kind::object: return "object";
  }
  return "?";
}

namespace {

// Length of the well-formed UTF-8 sequence starting at s[pos] (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0 if there is none.
size_t utf8_sequence_length(std::string_view s, size_t pos) {
  auto byte = [&](size_t i) { return pos + i < s.size() ? uint8_t(s[pos + i]) : uint8_t(0); };
  auto in = [](uint8_t b, uint8_t lo, uint8_t hi) { return b >= lo && b <= hi; };
  const uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  if (in(b0, 0xC2, 0xDF)) return in(byte(1), 0x80, 0xBF) ? 2 : 0;
  if (in(b0, 0xE0, 0xEF)) {
    // E0 would be overlong below A0; ED above 9F would encode a surrogate.
    const uint8_t lo = b0 == 0xE0 ? 0xA0 : 0x80, hi = b0 == 0xED ? 0x9F : 0xBF;
    return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xBF) ? 3 : 0;
  }
  if (in(b0, 0xF0, 0xF4)) {
    // F0 would be overlong below 90; F4 above 8F would pass U+10FFFF.
    const uint8_t lo = b0 == 0xF0 ? 0x90 : 0x80, hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xBF) && in(byte(3), 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

// s as a JSON string literal, quotes included.
void write_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    const uint8_t c = uint8_t(s[i]);
    if (c >= 0x80) {
      const size_t n = utf8_sequence_length(s, i);
      GL_CHECK(n > 0, "json: cannot write a string with invalid UTF-8 (byte 0x{:02x} at offset {})", c, i);
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out.push_back(char(c));
    }
    ++i;
  }
  out.push_back('"');
}

void write_value(std::string& out, const Json& v) {
  switch (v.kind()) {
    case Json::Kind::null: out += "null"; break;
    case Json::Kind::boolean: out += v.as_bool() ? "true" : "false"; break;
    case Json::Kind::integer: out += fmt::format("{}", v.as_int()); break;
    case Json::Kind::number: {
      const double d = v.as_double();
      GL_CHECK(std::isfinite(d), "json: cannot write the non-finite number {}", d);
      std::string text = fmt::format("{}", d);  // shortest form that reads back exactly
      if (text.find_first_of(".eE") == std::string::npos) text += ".0";
      out += text;
      break;
    }
    case Json::Kind::string: write_string(out, v.as_string()); break;
    case Json::Kind::array: {
      out.push_back('[');
      bool first = true;
      for (const Json& item : v.as_array()) {
        if (!first) out.push_back(',');
        first = false;
        write_value(out, item);
      }
      out.push_back(']');
      break;
    }
    case Json::Kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, item] : v.as_object()) {
        if (!first) out.push_back(',');
        first = false;
        write_string(out, key);
        out.push_back(':');
        write_value(out, item);
      }
      out.push_back('}');
      break;
    }
  }
}

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Json document() {
    skip_whitespace();
    Json value = parse_value(0);
    skip_whitespace();
    if (pos_ != s_.size()) error(pos_, "unexpected {} after the value", describe(pos_));
    return value;
  }

 private:
  template <class... Args>
  [[noreturn]] void error(size_t at, fmt::format_string<Args...> what, Args&&... args) {
    fail("json: {} at byte {}", fmt::format(what, std::forward<Args>(args)...), at);
  }

  // The byte at `at`, for messages: 'x', byte 0x01, or end of input.
  std::string describe(size_t at) const {
    if (at >= s_.size()) return "end of input";
    const uint8_t c = uint8_t(s_[at]);
    if (c >= 0x20 && c < 0x7F) return fmt::format("'{}'", char(c));
    return fmt::format("byte 0x{:02x}", c);
  }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  void skip_whitespace() {
    while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  void expect(char c) {
    if (at_end() || s_[pos_] != c) error(pos_, "expected '{}', found {}", c, describe(pos_));
    ++pos_;
  }

  Json parse_value(int depth) {
    if (at_end()) error(pos_, "expected a value, found end of input");
    switch (s_[pos_]) {
      case '{': return parse_object(depth + 1);
      case '[': return parse_array(depth + 1);
      case '"': return Json(parse_string());
      case 't': parse_literal("true"); return Json(true);
      case 'f': parse_literal("false"); return Json(false);
      case 'n': parse_literal("null"); return Json();
      default:
        if (s_[pos_] == '-' || is_digit(s_[pos_])) return parse_number();
        error(pos_, "expected a value, found {}", describe(pos_));
    }
  }

  void parse_literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) error(pos_, "invalid literal (expected {})", word);
    pos_ += word.size();
  }

  void check_depth(int depth) {
    if (depth > Json::kMaxDepth) error(pos_, "nesting deeper than {} levels", Json::kMaxDepth);
  }

  Json parse_array(int depth) {
    check_depth(depth);
    expect('[');
    Json::Array items;
    skip_whitespace();
    if (peek() == ']') {
      ++pos_;
      return Json(std::move(items));
    }
    while (true) {
      skip_whitespace();
      if (peek() == ']') error(pos_, "trailing comma before ']'");
      items.push_back(parse_value(depth));
      skip_whitespace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return Json(std::move(items));
      }
      error(pos_, "expected ',' or ']' in an array, found {}", describe(pos_));
    }
  }

  Json parse_object(int depth) {
    check_depth(depth);
    expect('{');
    Json::Object members;
    std::unordered_set<std::string> seen;
    skip_whitespace();
    if (peek() == '}') {
      ++pos_;
      return Json(std::move(members));
    }
    while (true) {
      skip_whitespace();
      if (peek() == '}') error(pos_, "trailing comma before '}}'");
      if (peek() != '"') error(pos_, "expected a string key, found {}", describe(pos_));
      const size_t key_at = pos_;
      std::string key = parse_string();
      if (!seen.insert(key).second) {
        std::string quoted;
        write_string(quoted, key);
        error(key_at, "duplicate key {}", quoted);
      }
      skip_whitespace();
      expect(':');
      skip_whitespace();
      Json value = parse_value(depth);
      members.emplace_back(std::move(key), std::move(value));
      skip_whitespace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return Json(std::move(members));
      }
      error(pos_, "expected ',' or '}}' in an object, found {}", describe(pos_));
    }
  }

  // Four hex digits at pos_ as a number.
  uint32_t parse_hex4(size_t escape_at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      const char c = peek();
      int d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        error(escape_at, "bad \\u escape (expected four hex digits)");
      v = v * 16 + uint32_t(d);
    }
    return v;
  }

  std::string parse_string() {
    const size_t start = pos_;
    expect('"');
    std::string out;
    while (true) {
      if (at_end()) error(start, "unterminated string");
      const uint8_t c = uint8_t(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        parse_escape(out, start);
        continue;
      }
      if (c < 0x20) error(pos_, "unescaped control character 0x{:02x} in a string", c);
      const size_t n = utf8_sequence_length(s_, pos_);
      if (n == 0) error(pos_, "invalid UTF-8 byte 0x{:02x} in a string", c);
      out.append(s_.substr(pos_, n));
      pos_ += n;
    }
  }

  void parse_escape(std::string& out, size_t string_start) {
    const size_t at = pos_;
    ++pos_;  // the backslash
    if (at_end()) error(string_start, "unterminated string");
    const char c = s_[pos_++];
    switch (c) {
      case '"': out.push_back('"'); return;
      case '\\': out.push_back('\\'); return;
      case '/': out.push_back('/'); return;
      case 'b': out.push_back('\b'); return;
      case 'f': out.push_back('\f'); return;
      case 'n': out.push_back('\n'); return;
      case 'r': out.push_back('\r'); return;
      case 't': out.push_back('\t'); return;
      case 'u': break;
      default: error(at, "bad escape character {} after '\\'", describe(at + 1));
    }
    uint32_t cp = parse_hex4(at);
    if (cp >= 0xDC00 && cp <= 0xDFFF) error(at, "lone low surrogate \\u{:04X}", cp);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      // A high surrogate must be followed at once by an escaped low one.
      if (s_.substr(pos_, 2) != "\\u") error(at, "lone high surrogate \\u{:04X}", cp);
      const size_t low_at = pos_;
      pos_ += 2;
      const uint32_t low = parse_hex4(low_at);
      if (low < 0xDC00 || low > 0xDFFF)
        error(at, "high surrogate \\u{:04X} followed by \\u{:04X}, not a low surrogate", cp, low);
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(out, cp);
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; without fraction and
  // exponent it is an exact int64.
  Json parse_number() {
    const size_t start = pos_;
    if (peek() == '-') ++pos_;
    if (!is_digit(peek())) error(pos_, "expected a digit, found {}", describe(pos_));
    if (peek() == '0') {
      ++pos_;
      if (is_digit(peek())) error(start, "numbers may not have leading zeros");
    } else {
      while (is_digit(peek())) ++pos_;
    }
    bool integer = true;
    if (peek() == '.') {
      ++pos_;
      integer = false;
      if (!is_digit(peek())) error(pos_, "expected a digit after '.', found {}", describe(pos_));
      while (is_digit(peek())) ++pos_;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      integer = false;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!is_digit(peek())) error(pos_, "expected a digit in the exponent, found {}", describe(pos_));
      while (is_digit(peek())) ++pos_;
    }
    const std::string_view text = s_.substr(start, pos_ - start);
    const char* first = text.data();
    const char* last = text.data() + text.size();
    if (integer) {
      int64_t v = 0;
      const auto r = std::from_chars(first, last, v);
      if (r.ec != std::errc() || r.ptr != last) error(start, "integer {} does not fit in int64", text);
      return Json(v);
    }
    double v = 0;
    const auto r = std::from_chars(first, last, v);
    // from_chars reports both overflow and underflow to zero as out of range.
    if (r.ec != std::errc() || r.ptr != last) error(start, "number {} is outside the range of a double", text);
    return Json(v);
  }

  std::string_view s_;
  size_t pos_ = 0;
};

template <class T>
const T& get(const std::variant<std::monostate, bool, int64_t, double, std::string, Json::Array, Json::Object>& v,
             Json::Kind want, Json::Kind have) {
  GL_CHECK(std::holds_alternative<T>(v), "json: expected {}, got {}", json_kind_name(want), json_kind_name(have));
  return std::get<T>(v);
}

}  // namespace

bool Json::as_bool() const { return get<bool>(v_, Kind::boolean, kind()); }
int64_t Json::as_int() const { return get<int64_t>(v_, Kind::integer, kind()); }
double Json::as_double() const {
  if (is_int()) return double(std::get<int64_t>(v_));
  return get<double>(v_, Kind::number, kind());
}
const std::string& Json::as_string() const { return get<std::string>(v_, Kind::string, kind()); }
const Json::Array& Json::as_array() const { return get<Array>(v_, Kind::array, kind()); }
const Json::Object& Json::as_object() const { return get<Object>(v_, Kind::object, kind()); }
Json::Array& Json::as_array() { return const_cast<Array&>(std::as_const(*this).as_array()); }
Json::Object& Json::as_object() { return const_cast<Object&>(std::as_const(*this).as_object()); }

const Json* Json::find(std::string_view key) const {
  for (const auto& [k, v] : as_object())
    if (k == key) return &v;
  return nullptr;
}

std::string Json::dump() const {
  std::string out;
  write_value(out, *this);
  return out;
}

Json Json::parse(std::string_view text) { return Parser(text).document(); }

}  // namespace gradlab
