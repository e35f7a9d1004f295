// The benchmarks' JSONL writer (bench/common/bench.h): one JSON object per
// line, and never a bare NaN or infinity, which no JSON reader accepts: those
// are written as null, so a diverged run still leaves a readable file;
// control characters escaped; appends locked, and a torn line from a killed writer cut by the next append.
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

TEST_CASE("Jsonl escapes control characters, and a line torn by a killed writer is cut by the next append") {
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
    // On a slow or busy machine (a sanitizer build) the child may take a while
    // to start: wait until it has written something (10 s at most), then let
    // it run a few milliseconds more, so that the kill lands mid-stream.
    const auto written = [&] {
      std::error_code ec;
      const auto n = std::filesystem::file_size(path, ec);
      return ec ? std::uintmax_t(0) : n;
    };
    const std::uintmax_t size_at_fork = written();
    for (int waited = 0; written() <= size_at_fork && waited < 10000; ++waited) ::usleep(1000);
    ::usleep(useconds_t(3000 + 2000 * trial));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  }
  // Reads the file; every line but a torn last one must be a whole record.
  const auto whole_lines = [&](bool allow_torn_tail) {
    std::ifstream in(path);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    int whole = 0;
    size_t at = 0;
    for (size_t nl; (nl = all.find('\n', at)) != std::string::npos; at = nl + 1) {
      const std::string l = all.substr(at, nl - at);
      CHECK(l.rfind("{\"bench\":", 0) == 0);
      CHECK(l.back() == '}');
      ++whole;
    }
    if (!allow_torn_tail) CHECK(at == all.size());
    return whole;
  };
  const int before = whole_lines(true);
  CHECK(before > 0);
  // The next append cuts a torn tail away first, so the file is whole records only.
  {
    Jsonl j(path);
    Jsonl::Record r;
    r.bench = "after";
    j.write(r);
  }
  CHECK(whole_lines(false) == before + 1);
  std::ifstream in(path);
  std::string last;
  while (std::getline(in, line)) last = line;
  CHECK(last.rfind("{\"bench\":\"after\"", 0) == 0);
  in.close();
  {
    std::ifstream again(path);
    while (std::getline(again, line))
      if (line.rfind("{\"bench\":\"kill\"", 0) == 0) CHECK(line.size() > payload.size());
  }
  std::filesystem::remove(path);
}

TEST_CASE("Jsonl cuts a torn last line before appending, however long the file") {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("gradlab_jsonl_torn_" + std::to_string(::getpid()) + ".jsonl"))
          .string();
  const auto append_after = [&](const std::string& existing) {
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << existing;
    }
    Jsonl j(path);
    Jsonl::Record r;
    r.bench = "next";
    j.write(r);
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const std::string next = "{\"bench\":\"next\",\"case\":\"\",\"metric\":\"\",\"value\":0,\"unit\":\"\",\"threads\":1}\n";
  CHECK(append_after("") == next);
  CHECK(append_after("{\"bench\":\"torn") == next);  // a torn first line leaves nothing
  CHECK(append_after("{\"a\":1}\n") == "{\"a\":1}\n" + next);
  CHECK(append_after("{\"a\":1}\n{\"bench\":\"to") == "{\"a\":1}\n" + next);
  // A torn tail longer than the 4 KiB read window, after a whole line.
  CHECK(append_after("{\"a\":1}\n{\"p\":\"" + std::string(10000, 'x')) == "{\"a\":1}\n" + next);
  std::filesystem::remove(path);
}
