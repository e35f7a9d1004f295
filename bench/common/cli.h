// Command-line flags for gradlab's binaries: `--name value` options declared
// with a default and a help line, `--help` printing them all, and a clear
// error for an unknown flag or a value that does not parse. Every flag is
// spelled --kebab-case (declaring another spelling is an error); the old
// snake_case spelling of a flag is still accepted, with a note on stderr.
//
//   Cli cli("gemm", "GEMM throughput against OpenBLAS");
//   const int64_t& threads = cli.integer("--threads", 1, "OpenMP threads");
//   const bool& smoke = cli.flag("--smoke", "a few seconds, no references");
//   cli.parse(argc, argv);   // exits 0 after --help, 2 (one line and the usage) on a bad flag
//   ... then read the values through the references returned above.
//
// Or let a settings struct be the command line: bind() ties a field to a flag,
// the field's value is the default shown by --help, and parse() writes into it.
//
//   struct Args { int64_t steps = 1000; double lr = 3e-4; bool anneal = true, smoke = false; } args;
//   cli.bind(args.steps, "--steps", "training steps", {1, INT64_MAX});
//   cli.bind(args.lr, "--lr", "learning rate");
//   cli.bind(args.anneal, "--anneal", "anneal the learning rate");   // --anneal / --no-anneal
//   cli.bind_flag(args.smoke, "--smoke", "a few seconds");            // --smoke, present or not
//   cli.parse(argc, argv);   // args now holds the command line
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "tensor/dtype.h"

namespace gradlab::bench {

// The values an integer flag accepts; parse() rejects the rest with the flag named.
struct Bounds {
  int64_t min = INT64_MIN, max = INT64_MAX;
};
// --threads everywhere: at least one, and no more than OpenMP can start.
inline constexpr Bounds kThreadBounds{1, 1024};

class Cli {
 public:
  Cli(std::string program, std::string description);

  // Each returns a reference that parse() fills in. Integers that overflow
  // int64 or fall outside `bounds`, and real values that are not finite, are
  // bad input.
  int64_t& integer(const std::string& name, int64_t fallback, const std::string& help, Bounds bounds = {});
  double& real(const std::string& name, double fallback, const std::string& help);
  std::string& text(const std::string& name, const std::string& fallback, const std::string& help);
  bool& flag(const std::string& name, const std::string& help);  // present or not
  // A switch with a default: --name (on), --no-name (off), or --name VALUE
  // with VALUE one of 1/0, true/false, yes/no, on/off.
  bool& boolean(const std::string& name, bool fallback, const std::string& help);

  // The same options bound to a field of the caller's (which must outlive
  // parse()): its current value is the default, parse() writes into it. A bool
  // field is a boolean switch; bind_flag() makes it a flag, present or not,
  // as flag() does (the field starts off; the flag can only turn it on).
  void bind(int64_t& field, const std::string& name, const std::string& help, Bounds bounds = {});
  void bind(double& field, const std::string& name, const std::string& help);
  void bind(std::string& field, const std::string& name, const std::string& help);
  void bind(bool& field, const std::string& name, const std::string& help);
  void bind_flag(bool& field, const std::string& name, const std::string& help);
  // A device (cpu, cuda or ref), checked at parse time: an unknown name, a build
  // without CUDA or a machine without a GPU is bad input naming the flag.
  void bind(Device& field, const std::string& name, const std::string& help);

  // Every option with its value after parse(), as a command line that gives
  // the same settings ("--steps 1000 --lr 0.0003 --anneal"; present flags
  // only, text values quoted when they need it): the provenance of a run.
  std::string command_line() const;

  // Parses argv; prints help and exits 0 on --help, prints the error and a
  // one-line usage and exits 2 on bad input.
  void parse(int argc, char** argv);
  std::string usage() const;
  // Whether the command line gave this option (after parse): e.g. a budget
  // flag such as --smoke sets its own defaults only for the options not given.
  bool given(const std::string& name) const;
  // `small` when a budget flag (e.g. --smoke) is on and the command line did
  // not give `flag`, else `value`: a budget never silently overrides a flag
  // given with it.
  template <class T>
  T budget_default(bool budget, const std::string& flag, const T& value, const T& small) const {
    return budget && !given(flag) ? small : value;
  }

 private:
  enum class Kind { integer, real, text, flag, boolean, device };
  struct Option {
    std::string name, help, fallback;
    Kind kind;
    int64_t* i = nullptr;
    double* r = nullptr;
    std::string* s = nullptr;
    bool* b = nullptr;
    Device* d = nullptr;
    Bounds bounds{};
  };
  void declare(const Option& o);  // checks the spelling and that the name is new
  std::string program_, description_;
  std::vector<Option> options_;
  std::deque<int64_t> ints_;  // deques keep the references stable
  std::deque<double> reals_;
  std::deque<std::string> texts_;
  std::deque<bool> flags_;
  std::set<std::string> given_;
};

// "1,2,3" -> {1, 2, 3}; throws gradlab::Error naming the flag on bad input.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& flag);
// "0.1" -> 0.1 and "0.01,0.1" -> {0.01, 0.1}: finite reals only; throws gradlab::Error naming `what`
// (a flag, or where the text came from) on anything else.
double parse_real(const std::string& text, const std::string& what);
std::vector<double> parse_real_list(const std::string& text, const std::string& what);
std::vector<std::string> split_list(const std::string& text, char sep = ',');
std::string join(const std::vector<std::string>& items, const std::string& sep = ",");

}  // namespace gradlab::bench
