// write_file_atomic and make_directories (tensor/atomic_file.h): the content
// arrives byte for byte, an existing file is replaced whole, no temporary file
// is left beside the target after success or failure, temporaries of dead
// processes are cleaned, two threads saving one path each leave a whole file,
// and an unwritable destination is an Error naming the function and the path.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tensor/atomic_file.h"
#include "tensor/error.h"

using namespace gradlab;
namespace fs = std::filesystem;

namespace {

void write_raw(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A fresh, empty directory for one test case, removed at the end.
struct ScratchDir {
  fs::path path;
  explicit ScratchDir(const std::string& name)
      : path(fs::temp_directory_path() / fmt::format("gradlab_atomic_{}_{}", name, ::getpid())) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& file) const { return (path / file).string(); }
  // The names in the directory, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// The message of the gradlab::Error that fn throws ("" and a failed check if none).
template <class Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  FAIL_CHECK("no gradlab::Error was thrown");
  return "";
}

}  // namespace

TEST_CASE("write_file_atomic writes the content byte for byte and leaves only the target") {
  ScratchDir dir("content");
  const std::string path = dir / "out.csv";
  // Binary-safe: an embedded NUL, CR LF and a byte above 127 arrive unchanged.
  const std::string content = std::string("a,b\r\n1,2\n", 9) + std::string(1, '\0') + "\xff" + "end";
  write_file_atomic(path, content);
  CHECK(read_all(path) == content);
  CHECK(fs::file_size(path) == content.size());
  CHECK(dir.names() == std::vector<std::string>{"out.csv"});
  // Empty content makes an empty file, not no file.
  write_file_atomic(dir / "empty.txt", "");
  CHECK(fs::exists(dir / "empty.txt"));
  CHECK(fs::file_size(dir / "empty.txt") == 0);
  CHECK(dir.names() == std::vector<std::string>{"empty.txt", "out.csv"});
}

TEST_CASE("write_file_atomic replaces an existing file whole") {
  ScratchDir dir("replace");
  const std::string path = dir / "results.txt";
  write_file_atomic(path, std::string(10000, 'x'));
  // A shorter write leaves no tail of the old content (as truncating in place
  // without O_TRUNC would), and the file is a new one renamed over the old.
  write_file_atomic(path, "short\n");
  CHECK(read_all(path) == "short\n");
  write_file_atomic(path, "");
  CHECK(read_all(path).empty());
  write_file_atomic(path, "third");
  CHECK(read_all(path) == "third");
  CHECK(dir.names() == std::vector<std::string>{"results.txt"});
}

TEST_CASE("write_file_atomic: an unwritable destination is an Error naming the path") {
  ScratchDir dir("errors");
  // A directory that does not exist.
  const std::string missing = dir / "no/such/dir/out.csv";
  const std::string m1 = error_of([&] { write_file_atomic(missing, "x"); });
  CHECK(m1.find("write_file_atomic") != std::string::npos);
  CHECK_MESSAGE(m1.find(missing) != std::string::npos, m1);
  CHECK(m1.find("No such file or directory") != std::string::npos);  // the system's reason
  // A file system that refuses new files (even for root).
  const std::string proc = "/proc/gradlab_atomic_test.txt";
  const std::string m2 = error_of([&] { write_file_atomic(proc, "x"); });
  CHECK(m2.find("write_file_atomic") != std::string::npos);
  CHECK_MESSAGE(m2.find(proc) != std::string::npos, m2);
  CHECK_FALSE(fs::exists(proc));
  // The target is a non-empty directory: the temporary file is written, the
  // rename fails, and the temporary is removed; the directory is untouched.
  const std::string target = dir / "taken";
  fs::create_directories(target);
  write_file_atomic(target + "/inner.txt", "keep");
  const std::string m3 = error_of([&] { write_file_atomic(target, "x"); });
  CHECK(m3.find("write_file_atomic") != std::string::npos);
  CHECK_MESSAGE(m3.find(target) != std::string::npos, m3);
  CHECK(dir.names() == std::vector<std::string>{"taken"});  // no taken.tmp.<pid> left
  CHECK(read_all(target + "/inner.txt") == "keep");
  CHECK_THROWS_WITH_AS(write_file_atomic("", "x"), doctest::Contains("write_file_atomic: empty path"), Error);
}

TEST_CASE("make_directories makes parents, accepts an existing directory, and names a bad path") {
  ScratchDir dir("mkdirs");
  const std::string deep = dir / "a/b/c";
  make_directories(deep);
  CHECK(fs::is_directory(deep));
  make_directories(deep);  // already there: fine
  write_file_atomic(dir / "a/file", "x");
  const std::string under_file = dir / "a/file/sub";
  CHECK_THROWS_WITH_AS(make_directories(under_file),
                       doctest::Contains(fmt::format("make_directories: cannot create '{}'", under_file).c_str()),
                       Error);
}

TEST_CASE("temporary names are unique per call, and temporaries of dead processes are cleaned") {
  ScratchDir dir("temps");
  const std::string path = dir / "ckpt.bin";
  const std::string a = atomic_temp_path(path), b = atomic_temp_path(path);
  CHECK(a != b);
  CHECK(a.rfind(path + ".tmp." + std::to_string(::getpid()) + ".", 0) == 0);
  // A save killed mid-write left these: one of a process that cannot exist (above any pid), one in the old
  // "PATH.tmp.PID" form, one of a live process (this one) and an unrelated file.
  const std::string dead = path + ".tmp.999999999.3", dead_old = path + ".tmp.999999998";
  const std::string live = path + ".tmp." + std::to_string(::getpid()) + ".77", other = dir / "notes.tmp.999999999";
  for (const std::string& f : {dead, dead_old, live, other}) write_raw(f, "partial");
  write_file_atomic(path, "new");
  CHECK(read_all(path) == "new");
  CHECK_FALSE(fs::exists(dead));
  CHECK_FALSE(fs::exists(dead_old));
  CHECK(fs::exists(live));  // a live process may still be writing it
  CHECK(fs::exists(other));
}

TEST_CASE("two threads saving one path: each save is whole, and no temporary is left") {
  ScratchDir dir("threads");
  const std::string path = dir / "shared.txt";
  const std::string x(200000, 'x'), y(100000, 'y');
  for (int round = 0; round < 20; ++round) {
    std::thread t1([&] { write_file_atomic(path, x); });
    std::thread t2([&] { write_file_atomic(path, y); });
    t1.join();
    t2.join();
    const std::string got = read_all(path);
    CHECK((got == x || got == y));
  }
  CHECK(dir.names() == std::vector<std::string>{"shared.txt"});
}

TEST_CASE("require_regular_file: a missing path, a directory and a named pipe are named, without waiting") {
  ScratchDir dir("regular");
  const std::string file = dir / "data.bin", fifo = dir / "pipe";
  write_raw(file, "x");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_NOTHROW(require_regular_file(file, "load"));
  const std::string missing = dir / "nope";
  CHECK_THROWS_WITH_AS(require_regular_file(missing, "load"),
                       doctest::Contains(("load: cannot read '" + missing + "'").c_str()), Error);
  CHECK_THROWS_WITH_AS(require_regular_file(dir.path.string(), "--load"),
                       doctest::Contains("not a regular file (a directory)"), Error);
  // Opening a pipe for reading would block until a writer appears: the check refuses it first.
  CHECK_THROWS_WITH_AS(require_regular_file(fifo, "--load"), doctest::Contains("not a regular file (a named pipe)"),
                       Error);
}
