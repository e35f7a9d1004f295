// The list and number parsers behind the bench binaries' flags
// (bench/common/cli.h): lists of integers and reals, with what is wrong named.
#include <doctest/doctest.h>

#include <memory>

#include "bench/common/cli.h"
#include "tensor/backend.h"
#include "tensor/error.h"

using namespace gradlab;
using namespace gradlab::bench;

TEST_CASE("integer and real lists parse, and bad items are named with the flag") {
  CHECK(parse_int_list("1,2,3", "--seeds") == std::vector<int64_t>{1, 2, 3});
  CHECK_THROWS_WITH_AS(parse_int_list("1,x", "--seeds"), doctest::Contains("--seeds: 'x' is not an integer (in '1,x')"),
                       Error);
  CHECK_THROWS_WITH_AS(parse_int_list("99999999999999999999", "--sizes"),
                       doctest::Contains("--sizes: '99999999999999999999' is out of range"), Error);
  CHECK(parse_real("0.25", "--beta") == 0.25);
  CHECK(parse_real_list("0.01,0.1", "--kl-sweep") == std::vector<double>{0.01, 0.1});
  CHECK_THROWS_WITH_AS(parse_real_list("a,b", "--kl-sweep"),
                       doctest::Contains("--kl-sweep (in 'a,b'): 'a' is not a number"), Error);
  CHECK_THROWS_WITH_AS(parse_real("nan", "--beta"), doctest::Contains("--beta: 'nan' is not a finite number"), Error);
  CHECK_THROWS_WITH_AS(parse_real("1e999", "--beta"), doctest::Contains("--beta: '1e999' is not a finite number"),
                       Error);
  CHECK_THROWS_WITH_AS(parse_real("", "--beta"), doctest::Contains("--beta: '' is not a number"), Error);
  CHECK_THROWS_WITH_AS(parse_real("0.3x", "task 'X'"), doctest::Contains("task 'X': '0.3x' is not a number"), Error);
}

TEST_CASE("a budget flag sets its small defaults only for the options not given") {
  Cli cli("toy", "a toy");
  int64_t& steps = cli.integer("--steps", 1000, "steps");
  int64_t& samples = cli.integer("--samples", 7, "samples");
  bool& smoke = cli.flag("--smoke", "tiny");
  std::vector<std::string> args = {"toy", "--smoke", "--steps", "50"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  cli.parse(int(argv.size()), argv.data());
  CHECK(cli.given("--steps"));
  CHECK(cli.given("--smoke"));
  CHECK_FALSE(cli.given("--samples"));
  CHECK(cli.budget_default<int64_t>(smoke, "--steps", steps, 3) == 50);     // given: kept
  CHECK(cli.budget_default<int64_t>(smoke, "--samples", samples, 1) == 1);  // not given: the budget's
  CHECK(cli.budget_default<int64_t>(false, "--samples", samples, 1) == 7);  // no budget: the default
}

TEST_CASE("flags are spelled --kebab-case; the old snake_case spelling still parses") {
  Cli cli("toy", "a toy");
  double& rm_lr = cli.real("--rm-lr", 1e-3, "reward-model learning rate");
  std::string& pooling = cli.text("--rm-pooling", "sum", "pooling");
  std::vector<std::string> args = {"toy", "--rm_lr", "0.5", "--rm-pooling", "last"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  cli.parse(int(argv.size()), argv.data());
  CHECK(rm_lr == 0.5);
  CHECK(pooling == "last");
  CHECK(cli.given("--rm-lr"));
  CHECK_THROWS_WITH_AS(cli.integer("--d_model", 1, "width"), doctest::Contains("'--d_model' is not --kebab-case"),
                       Error);
  CHECK_THROWS_WITH_AS(cli.integer("--Steps", 1, "steps"), doctest::Contains("is not --kebab-case"), Error);
  CHECK_THROWS_WITH_AS(cli.integer("--rm-lr", 1, "again"), doctest::Contains("declared twice"), Error);
}

TEST_CASE("a boolean switch: --name, --no-name, or --name with an explicit value") {
  auto parse = [](std::vector<std::string> args, bool fallback) {
    Cli cli("toy", "a toy");
    bool& on = cli.boolean("--anneal-lr", fallback, "anneal");
    int64_t& n = cli.integer("--steps", 1, "steps");
    args.insert(args.begin(), "toy");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    cli.parse(int(argv.size()), argv.data());
    return std::pair<bool, int64_t>{on, n};
  };
  CHECK(parse({}, true).first);
  CHECK_FALSE(parse({}, false).first);
  CHECK(parse({"--anneal-lr"}, false).first);
  CHECK_FALSE(parse({"--no-anneal-lr"}, true).first);
  CHECK_FALSE(parse({"--anneal-lr", "0"}, true).first);
  CHECK_FALSE(parse({"--anneal-lr", "off"}, true).first);
  CHECK(parse({"--anneal-lr", "yes", "--steps", "4"}, false) == std::pair<bool, int64_t>{true, 4});
  CHECK(parse({"--anneal-lr", "--steps", "4"}, false) == std::pair<bool, int64_t>{true, 4});
}

TEST_CASE("a settings struct as the command line: bind, defaults in --help, and the provenance line") {
  struct Args {
    int64_t steps = 1000;
    double lr = 3e-4;
    std::string name = "run one";
    bool anneal = true;
    bool verbose = false;
  };
  auto parse = [](Args& args, std::vector<std::string> words) {
    auto cli = std::make_unique<Cli>("toy", "a toy");
    cli->bind(args.steps, "--steps", "training steps", {1, 100000});
    cli->bind(args.lr, "--lr", "learning rate");
    cli->bind(args.name, "--name", "run name");
    cli->bind(args.anneal, "--anneal", "anneal the learning rate");
    cli->bind(args.verbose, "--verbose", "print more");
    words.insert(words.begin(), "toy");
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    cli->parse(int(argv.size()), argv.data());
    return cli;
  };
  Args defaults;
  auto cli = parse(defaults, {});
  CHECK(defaults.steps == 1000);  // nothing given: the fields keep their values
  CHECK(defaults.lr == 3e-4);
  CHECK(cli->usage().find("--steps N") != std::string::npos);
  CHECK(cli->usage().find("(default 1000, 1 to 100000)") != std::string::npos);
  CHECK(cli->usage().find("(default run one)") != std::string::npos);
  CHECK(cli->command_line() == "--steps 1000 --lr 0.0003 --name 'run one' --anneal --no-verbose");
  Args given;
  cli = parse(given, {"--steps", "7", "--lr", "0.5", "--no-anneal", "--verbose", "--name", "it's"});
  CHECK(given.steps == 7);
  CHECK(given.lr == 0.5);
  CHECK_FALSE(given.anneal);
  CHECK(given.verbose);
  CHECK(given.name == "it's");
  CHECK(cli->command_line() == "--steps 7 --lr 0.5 --name 'it'\\''s' --no-anneal --verbose");
  // The provenance line parses back to the same settings.
  Args again;
  std::vector<std::string> words = {"--steps", "7", "--lr", "0.5", "--name", "it's", "--no-anneal", "--verbose"};
  parse(again, words);
  CHECK(again.steps == given.steps);
  CHECK(again.name == given.name);
  // A bound default outside its bounds is a programming error, caught when declared.
  Args bad;
  bad.steps = 0;
  Cli strict("toy", "a toy");
  CHECK_THROWS_WITH_AS(strict.bind(bad.steps, "--steps", "training steps", {1, 10}),
                       doctest::Contains("toy: the default of --steps (0) is outside [1, 10]"), Error);
  CHECK_THROWS_WITH_AS(strict.bind(bad.lr, "--learning_rate", "lr"), doctest::Contains("is not --kebab-case"), Error);
}

TEST_CASE("a bound flag is present or not: no --no- form, listed alone, in the provenance line only when on") {
  struct Args {
    int64_t steps = 10;
    bool smoke = false;
  };
  auto parse = [](Args& args, std::vector<std::string> words) {
    auto cli = std::make_unique<Cli>("toy", "a toy");
    cli->bind(args.steps, "--steps", "steps");
    cli->bind_flag(args.smoke, "--smoke", "tiny");
    words.insert(words.begin(), "toy");
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    cli->parse(int(argv.size()), argv.data());
    return cli;
  };
  Args off;
  auto cli = parse(off, {});
  CHECK_FALSE(off.smoke);
  CHECK(cli->usage().find("\n  --smoke                  tiny\n") != std::string::npos);
  CHECK(cli->usage().find("--no-smoke") == std::string::npos);
  CHECK(cli->command_line() == "--steps 10");
  Args on;
  cli = parse(on, {"--smoke", "--steps", "3"});
  CHECK(on.smoke);
  CHECK(on.steps == 3);
  CHECK(cli->given("--smoke"));
  CHECK(cli->command_line() == "--steps 3 --smoke");
  // A flag can only turn its field on: one that starts on is a programming error.
  Args bad;
  bad.smoke = true;
  Cli strict("toy", "a toy");
  CHECK_THROWS_WITH_AS(strict.bind_flag(bad.smoke, "--smoke", "tiny"), doctest::Contains("toy: flag --smoke starts on"),
                       Error);
}

TEST_CASE("--device binds a Device: checked by name and by what this build and machine have") {
  Device device = Device::cpu;
  Cli cli("toy", "a toy");
  cli.bind(device, "--device", "where tensors live");
  std::vector<std::string> words = {"toy", "--device", "ref"};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  cli.parse(int(argv.size()), argv.data());
  CHECK(device == Device::ref);
  CHECK(cli.command_line() == "--device ref");
  CHECK(cli.usage().find("--device DEVICE") != std::string::npos);
  CHECK(cli.usage().find("(default cpu)") != std::string::npos);
  // What parse() reports (and exits 2 on) for names it cannot use.
  CHECK_THROWS_WITH_AS(device_from_flag("gpu", "--device"),
                       doctest::Contains("--device: unknown device 'gpu' (cpu, cuda or ref)"), Error);
  if (!backend_available(Device::cuda))
    CHECK_THROWS_WITH_AS(device_from_flag("cuda", "--device"), doctest::Contains("--device cuda: "), Error);
  CHECK(device_from_flag("cpu", "--device") == Device::cpu);
}
