// Crash consistency of gradlab's saves (tensor/atomic_file.h and
// nn/safetensors.h): a child process SIGKILLed at a random moment while it
// saves a large checkpoint or file over and over leaves the target whole (the
// old content or a complete new one, loadable) and, after the next save, no
// temporary file; a save that runs out of space (a file-size limit standing in
// for a full disk) fails with an error and leaves the old file byte-identical.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nn/safetensors.h"
#include "tensor/atomic_file.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/random.h"

using namespace gradlab;
namespace fs = std::filesystem;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("gradlab_crash_" + std::to_string(::getpid()));
  Scratch() {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    return out;
  }
};

// Forks a child that runs `save(i)` for i = 0, 1, 2, ... until killed; kills it with SIGKILL after
// `delay_us` and reaps it.
template <class Save>
void kill_while_saving(Save save, useconds_t delay_us) {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    for (int i = 0;; ++i) save(i);
  }
  ::usleep(delay_us);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status));
}

}  // namespace

TEST_CASE("a file save killed at random moments leaves the old or the new file whole, and no temporary after") {
  Scratch s;
  const std::string path = (s.dir / "log.txt").string();
  const std::string a(3 << 20, 'a'), b(2 << 20, 'b');
  write_file_atomic(path, a);
  for (int trial = 0; trial < 8; ++trial) {
    kill_while_saving([&](int i) { write_file_atomic(path, i % 2 ? a : b); }, useconds_t(2000 + 3000 * trial));
    const std::string got = read_all(path);
    CHECK((got == a || got == b));
  }
  write_file_atomic(path, "done");  // the next save removes what the killed children left
  CHECK(read_all(path) == "done");
  CHECK(s.names() == std::vector<std::string>{"log.txt"});
}

TEST_CASE("a checkpoint save killed at random moments always loads, whole, and no temporary is left after") {
  Scratch s;
  const std::string path = (s.dir / "model.safetensors").string();
  Generator gen(1);
  const Tensor w1 = randn({512, 1024}, gen), w2 = randn({256, 1024}, gen);  // 2 MB and 1 MB
  save_safetensors(path, {{"w", w1}});
  for (int trial = 0; trial < 8; ++trial) {
    kill_while_saving(
        [&](int i) {
          save_safetensors(path, {{"w", i % 2 ? w1 : w2}});
        },
        useconds_t(2000 + 3000 * trial));
    const SafetensorsFile f = load_safetensors(path);  // never a torn file: it loads
    const Tensor& w = f.at("w");
    const Tensor& expected = w.size(0) == 512 ? w1 : w2;
    CHECK(max(abs(sub(w, expected))).item() == 0);
  }
  save_safetensors(path, {{"w", w2}});
  CHECK(s.names() == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("a save that runs out of space fails with an error and leaves the old file byte-identical") {
  Scratch s;
  const std::string path = (s.dir / "results.csv").string();
  const std::string old = "the old results\n";
  write_file_atomic(path, old);
  // In a child: a 1 MB file-size limit stands in for a full disk (writes past it fail with EFBIG).
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{1 << 20, 1 << 20};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    int code = 3;
    try {
      write_file_atomic(path, std::string(4 << 20, 'x'));
      code = 1;  // it should have failed
    } catch (const Error& e) {
      code = std::string(e.what()).find("write_file_atomic: writing") != std::string::npos ? 0 : 2;
    }
    std::_Exit(code);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);                              // 0: the save failed with its error
  CHECK(read_all(path) == old);                                 // the old file is intact
  CHECK(s.names() == std::vector<std::string>{"results.csv"});  // and the temporary is gone
}
