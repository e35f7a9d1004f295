// Command-line flags: declaration, parsing, usage text.
#include "bench/common/cli.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "bench/common/bench.h"
#include "tensor/backend.h"
#include "tensor/error.h"

namespace gradlab::bench {

Cli::Cli(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {}

namespace {

// One spelling for every flag: --kebab-case (lower-case words joined by '-').
bool kebab_case(const std::string& name) {
  if (name.size() < 3 || name.compare(0, 2, "--") != 0 || name[2] == '-' || name.back() == '-') return false;
  for (size_t i = 2; i < name.size(); ++i) {
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && name[i - 1] != '-'))) return false;
  }
  return true;
}

}  // namespace

void Cli::declare(const Option& o) {
  GL_CHECK(kebab_case(o.name), "{}: flag '{}' is not --kebab-case", program_, o.name);
  for (const Option& other : options_) GL_CHECK(other.name != o.name, "{}: flag {} declared twice", program_, o.name);
  options_.push_back(o);
}

int64_t& Cli::integer(const std::string& name, int64_t fallback, const std::string& help, Bounds bounds) {
  ints_.push_back(fallback);
  Option o{name, help, std::to_string(fallback), Kind::integer, &ints_.back()};
  o.bounds = bounds;
  declare(o);
  return ints_.back();
}

double& Cli::real(const std::string& name, double fallback, const std::string& help) {
  reals_.push_back(fallback);
  Option o{name, help, fmt::format("{}", fallback), Kind::real};
  o.r = &reals_.back();
  declare(o);
  return reals_.back();
}

std::string& Cli::text(const std::string& name, const std::string& fallback, const std::string& help) {
  texts_.push_back(fallback);
  Option o{name, help, fallback.empty() ? "\"\"" : fallback, Kind::text};
  o.s = &texts_.back();
  declare(o);
  return texts_.back();
}

bool& Cli::flag(const std::string& name, const std::string& help) {
  flags_.push_back(false);
  bind_flag(flags_.back(), name, help);
  return flags_.back();
}

bool& Cli::boolean(const std::string& name, bool fallback, const std::string& help) {
  flags_.push_back(fallback);
  Option o{name, help, fallback ? "on" : "off", Kind::boolean};
  o.b = &flags_.back();
  declare(o);
  return flags_.back();
}

void Cli::bind(int64_t& field, const std::string& name, const std::string& help, Bounds bounds) {
  Option o{name, help, std::to_string(field), Kind::integer, &field};
  o.bounds = bounds;
  GL_CHECK(field >= bounds.min && field <= bounds.max, "{}: the default of {} ({}) is outside [{}, {}]", program_, name,
           field, bounds.min, bounds.max);
  declare(o);
}

void Cli::bind(double& field, const std::string& name, const std::string& help) {
  Option o{name, help, fmt::format("{}", field), Kind::real};
  o.r = &field;
  declare(o);
}

void Cli::bind(std::string& field, const std::string& name, const std::string& help) {
  Option o{name, help, field.empty() ? "\"\"" : field, Kind::text};
  o.s = &field;
  declare(o);
}

void Cli::bind(Device& field, const std::string& name, const std::string& help) {
  Option o{name, help, std::string(device_name(field)), Kind::device};
  o.d = &field;
  declare(o);
}

void Cli::bind(bool& field, const std::string& name, const std::string& help) {
  Option o{name, help, field ? "on" : "off", Kind::boolean};
  o.b = &field;
  declare(o);
}

void Cli::bind_flag(bool& field, const std::string& name, const std::string& help) {
  GL_CHECK(!field, "{}: flag {} starts on, and a flag can only turn its field on (bind it as a switch)", program_,
           name);
  Option o{name, help, "", Kind::flag};
  o.b = &field;
  declare(o);
}

std::string Cli::command_line() const {
  auto quoted = [](const std::string& v) {
    const bool plain = !v.empty() && v.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos;
    if (plain) return v;
    std::string out = "'";
    for (char c : v) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  };
  std::vector<std::string> parts;
  for (const Option& o : options_) {
    switch (o.kind) {
      case Kind::integer: parts.push_back(o.name + " " + std::to_string(*o.i)); break;
      case Kind::real: parts.push_back(fmt::format("{} {}", o.name, *o.r)); break;
      case Kind::text: parts.push_back(o.name + " " + quoted(*o.s)); break;
      case Kind::device: parts.push_back(fmt::format("{} {}", o.name, device_name(*o.d))); break;
      case Kind::flag:
        if (*o.b) parts.push_back(o.name);
        break;
      case Kind::boolean: parts.push_back(*o.b ? o.name : "--no-" + o.name.substr(2)); break;
    }
  }
  return join(parts, " ");
}

std::string Cli::usage() const {
  std::string out = fmt::format("usage: {} [options]\n{}\n\noptions:\n", program_, description_);
  for (const Option& o : options_) {
    const std::string lhs = o.kind == Kind::flag      ? o.name
                            : o.kind == Kind::boolean ? o.name + ", --no-" + o.name.substr(2)
                                                      : o.name + " " +
                                                            (o.kind == Kind::text     ? "TEXT"
                                                             : o.kind == Kind::device ? "DEVICE"
                                                                                      : "N");
    out += "  " + pad_right(lhs, 24) + " " + o.help;
    const Bounds& b = o.bounds;
    if (o.kind == Kind::integer && b.max != INT64_MAX)
      out += fmt::format(" (default {}, {} to {})", o.fallback, b.min, b.max);
    else if (o.kind == Kind::integer && b.min != INT64_MIN)
      out += fmt::format(" (default {}, at least {})", o.fallback, b.min);
    else if (o.kind != Kind::flag)
      out += fmt::format(" (default {})", o.fallback);
    out += "\n";
  }
  out += "  " + pad_right("--help", 24) + " print this help\n";
  return out;
}

namespace {

// Empty when `path` can be written: an existing writable regular file, or a new file whose nearest existing
// ancestor is a writable directory (the missing folders are made when the file is); else the reason.
std::string why_not_writable(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    if (!fs::is_regular_file(path, ec)) return "not a regular file";
    return ::access(path.c_str(), W_OK) == 0 ? "" : std::strerror(errno);
  }
  fs::path dir = fs::path(path).parent_path();
  while (!dir.empty() && !fs::exists(dir, ec)) dir = dir.parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) return fmt::format("'{}' is not a directory", dir.string());
  return ::access(dir.c_str(), W_OK) == 0 ? "" : fmt::format("'{}': {}", dir.string(), std::strerror(errno));
}

}  // namespace

void Cli::parse(int argc, char** argv) {
  // The message and one line of usage; the full list is one --help away.
  auto bad = [&](const std::string& msg) {
    std::fprintf(stderr, "%s: %s\nusage: %s [options]  (%s --help lists them)\n", program_.c_str(), msg.c_str(),
                 program_.c_str(), program_.c_str());
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage().c_str(), stdout);
      std::exit(0);
    }
    Option* opt = nullptr;
    for (Option& o : options_)
      if (o.name == arg) opt = &o;
    if (opt == nullptr && arg.rfind("--no-", 0) == 0)  // --no-NAME turns a boolean off
      for (Option& o : options_)
        if (o.kind == Kind::boolean && o.name == "--" + arg.substr(5)) {
          given_.insert(o.name);
          *o.b = false;
          opt = &o;
        }
    if (opt != nullptr && opt->kind == Kind::boolean && arg != opt->name) continue;
    if (opt == nullptr && arg.rfind("--", 0) == 0 && arg.find('_') != std::string::npos) {
      // The old snake_case spelling of a flag: accepted, with a note, for now.
      std::string kebab = arg;
      std::replace(kebab.begin() + 2, kebab.end(), '_', '-');
      for (Option& o : options_)
        if (o.name == kebab) opt = &o;
      if (opt != nullptr)
        std::fprintf(stderr, "%s: note: %s is spelled %s now (the old spelling still works, for a while)\n",
                     program_.c_str(), arg.c_str(), kebab.c_str());
    }
    if (opt == nullptr) bad(fmt::format("unknown option '{}'", arg));
    given_.insert(opt->name);
    if (opt->kind == Kind::flag) {
      *opt->b = true;
      continue;
    }
    if (opt->kind == Kind::boolean) {
      *opt->b = true;
      if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {  // an explicit value
        const std::string value = argv[++i];
        if (value == "1" || value == "true" || value == "yes" || value == "on")
          *opt->b = true;
        else if (value == "0" || value == "false" || value == "no" || value == "off")
          *opt->b = false;
        else
          bad(fmt::format("{} is on or off (1/0, true/false, yes/no, on/off), got '{}'", arg, value));
      }
      continue;
    }
    if (i + 1 >= argc) bad(fmt::format("option {} needs a value", arg));
    const std::string value = argv[++i];
    char* end = nullptr;
    switch (opt->kind) {
      case Kind::integer: {
        errno = 0;
        const long long v = std::strtoll(value.c_str(), &end, 10);
        if (end == value.c_str() || *end != '\0') bad(fmt::format("{} expects an integer, got '{}'", arg, value));
        const Bounds& b = opt->bounds;
        if (errno == ERANGE) bad(fmt::format("{}: {} is out of range", arg, value));  // past int64 either way
        if (v < b.min || v > b.max) {
          if (b.max != INT64_MAX) bad(fmt::format("{} must be from {} to {}, got {}", arg, b.min, b.max, value));
          if (b.min != INT64_MIN) bad(fmt::format("{} must be at least {}, got {}", arg, b.min, value));
          bad(fmt::format("{}: {} is out of range", arg, value));
        }
        *opt->i = v;
        break;
      }
      case Kind::real: {
        const double v = std::strtod(value.c_str(), &end);
        if (end == value.c_str() || *end != '\0') bad(fmt::format("{} expects a number, got '{}'", arg, value));
        // strtod reads "nan", "inf" and overflowing literals; no flag wants them.
        if (!std::isfinite(v)) bad(fmt::format("{} expects a finite number, got '{}'", arg, value));
        *opt->r = v;
        break;
      }
      case Kind::text: *opt->s = value; break;
      case Kind::device: try { *opt->d = device_from_flag(value, arg);
        } catch (const Error& e) {
          bad(e.what());
        }
        break;
      case Kind::flag:
      case Kind::boolean: break;
    }
  }
  // An output named on the command line is checked now, before any work: a run must not fail at its end
  // because the file it appends its records to cannot be written.
  for (const Option& o : options_)
    if (o.name == "--jsonl" && o.kind == Kind::text && !o.s->empty()) {
      const std::string why = why_not_writable(*o.s);
      if (!why.empty()) bad(fmt::format("--jsonl: cannot write '{}': {}", *o.s, why));
    }
}

std::vector<std::string> split_list(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = text.find(sep, start);
    const std::string item = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!item.empty()) out.push_back(item);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

bool Cli::given(const std::string& name) const { return given_.count(name) > 0; }

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& flag) {
  std::vector<int64_t> out;
  for (const std::string& item : split_list(text)) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    GL_CHECK(end != item.c_str() && *end == '\0', "{}: '{}' is not an integer (in '{}')", flag, item, text);
    GL_CHECK(errno != ERANGE, "{}: '{}' is out of range (in '{}')", flag, item, text);
    out.push_back(v);
  }
  return out;
}

double parse_real(const std::string& text, const std::string& what) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  GL_CHECK(!text.empty() && end != text.c_str() && *end == '\0', "{}: '{}' is not a number", what, text);
  GL_CHECK(errno != ERANGE && std::isfinite(v), "{}: '{}' is not a finite number", what, text);
  return v;
}

std::vector<double> parse_real_list(const std::string& text, const std::string& what) {
  std::vector<double> out;
  for (const std::string& item : split_list(text))
    out.push_back(parse_real(item, fmt::format("{} (in '{}')", what, text)));
  return out;
}

}  // namespace gradlab::bench
