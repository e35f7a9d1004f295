// The benchmarks' JSONL writer (bench/common/bench.h): one JSON object per
// line, and never a bare NaN or infinity, which no JSON reader accepts: those
// are written as null, so a diverged run still leaves a readable file;
// control characters escaped; whole lines only, even from a killed writer.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "bench/common/bench.h"

using namespace gradlab::bench;

TEST_CASE("Jsonl writes finite numbers as numbers and NaN and infinities as null") {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("gradlab-test-jsonl-" + std::to_string(getpid()) + ".jsonl")).string();
  std::filesystem::remove(path);
  Jsonl log(path);
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  log.write({.bench = "b",
             .case_name = "finite",
             .metric = "m",
             .value = 1.5,
             .unit = "u",
             .threads = 2,
             .baseline = "ref",
             .baseline_value = 3.0,
             .numbers = {{"x", 0.25}}});
  log.write({.bench = "b",
             .case_name = "nan",
             .metric = "m",
             .value = nan,
             .unit = "u",
             .threads = 1,
             .baseline = "ref",
             .baseline_value = inf,
             .numbers = {{"x", -inf}}});
  std::ifstream in(path);
  std::string first, second, extra;
  std::getline(in, first);
  std::getline(in, second);
  CHECK_FALSE(std::getline(in, extra));
  CHECK(first ==
        "{\"bench\":\"b\",\"case\":\"finite\",\"metric\":\"m\",\"value\":1.5,\"unit\":\"u\",\"threads\":2,"
        "\"baseline\":\"ref\",\"baseline_value\":3,\"ratio\":0.5,\"x\":0.25}");
  CHECK(second ==
        "{\"bench\":\"b\",\"case\":\"nan\",\"metric\":\"m\",\"value\":null,\"unit\":\"u\",\"threads\":1,"
        "\"baseline\":\"ref\",\"baseline_value\":null,\"ratio\":null,\"x\":null}");
  std::filesystem::remove(path);
}

TEST_CASE("Jsonl escapes control characters, and a writer killed at any moment leaves whole lines only") {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("gradlab_jsonl_kill_" + std::to_string(::getpid()) + ".jsonl"))
          .string();
  std::filesystem::remove(path);
  {
    Jsonl j(path);
    Jsonl::Record r;
    r.bench = "b";
    r.case_name = "line one\nline\ttwo";
    j.write(r);
  }
  std::ifstream first(path);
  std::string line;
  std::getline(first, line);
  CHECK(line.find("\"case\":\"line one\\u000aline\\u0009two\"") != std::string::npos);
  std::filesystem::remove(path);
  // Children append records with a long field until SIGKILLed; every line left must be whole.
  const std::string payload(3000, 'x');
  for (int trial = 0; trial < 5; ++trial) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      Jsonl j(path);
      Jsonl::Record r;
      r.bench = "kill";
      r.extra["payload"] = payload;
      for (;;) j.write(r);
    }
    ::usleep(useconds_t(3000 + 2000 * trial));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  }
  std::ifstream in(path);
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    CHECK(line.rfind("{\"bench\":\"kill\"", 0) == 0);
    CHECK(line.size() > payload.size());
    CHECK(line.back() == '}');
  }
  CHECK(lines > 0);
  std::filesystem::remove(path);
}
