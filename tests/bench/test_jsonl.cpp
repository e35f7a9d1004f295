// The benchmarks' JSONL writer (bench/common/bench.h): one JSON object per
// line, and never a bare NaN or infinity, which no JSON reader accepts: those
// are written as null, so a diverged run still leaves a readable file.
#include <doctest/doctest.h>
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
