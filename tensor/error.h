// gradlab::Error, the one exception type for bad input, and the GL_CHECK macro
// that raises it. Messages name the op and the offending shapes or values, e.g.
// "add: shapes [2, 3] and [4] do not broadcast".
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

// fmt's formatting engine (vformat_to<char>, with the integer and float
// writers below it) is a template that libfmt already compiles, but without
// this declaration every translation unit instantiates and optimises its own
// copy: about half of gradlab's compile time. Declared for fmt 9 only (Debian
// 12's libfmt-dev), whose shared library exports that instantiation.
#if FMT_VERSION >= 90000 && FMT_VERSION < 100000 && !defined(FMT_HEADER_ONLY)
namespace fmt {
inline namespace v9 {
namespace detail {
extern template FMT_API void vformat_to<char>(buffer<char>&, basic_string_view<char>,
                                              basic_format_args<FMT_BUFFER_CONTEXT(char)>, locale_ref);
}  // namespace detail
}  // namespace v9
}  // namespace fmt
#endif

namespace gradlab {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws gradlab::Error with a fmt-formatted message.
template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// Base of gradlab's fmt formatters: no format spec, the value printed as text.
struct PlainFormatter {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
};

}  // namespace gradlab

// GL_CHECK(cond, "op: what went wrong {}", value): throw gradlab::Error unless cond.
#define GL_CHECK(cond, ...)                    \
  do {                                         \
    if (!(cond)) ::gradlab::fail(__VA_ARGS__); \
  } while (0)
