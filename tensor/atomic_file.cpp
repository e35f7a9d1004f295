// write_file_atomic: temporary file + fsync + rename, as documented in the header.
#include "tensor/atomic_file.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "tensor/error.h"

namespace gradlab {

namespace {

// True when `text` is "PID" or "PID.N" with PID a process that no longer exists.
bool names_dead_process(const std::string& text) {
  const std::string pid_text = text.substr(0, text.find('.'));
  if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  const long pid = std::stol(pid_text);
  return pid > 0 && pid != long(::getpid()) && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH;
}

void remove_stale_temps(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) == 0 && names_dead_process(name.substr(prefix.size()))) {
      std::error_code ignored;  // another process may be removing it too
      fs::remove(it->path(), ignored);
    }
  }
}

}  // namespace

std::string atomic_temp_path(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  remove_stale_temps(path);
  return fmt::format("{}.tmp.{}.{}", path, ::getpid(), counter++);
}

void write_file_atomic(const std::string& path, const std::string& content) {
  GL_CHECK(!path.empty(), "write_file_atomic: empty path");
  const std::string tmp = atomic_temp_path(path);
  FILE* f = std::fopen(tmp.c_str(), "wb");
  GL_CHECK(f != nullptr, "write_file_atomic: cannot create '{}': {}", tmp, std::strerror(errno));
  const bool written = content.empty() || std::fwrite(content.data(), 1, content.size(), f) == content.size();
  const bool flushed = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  const bool closed = std::fclose(f) == 0;
  if (!written || !flushed || !closed) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    fail("write_file_atomic: writing '{}' failed: {}", path, why);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    fail("write_file_atomic: renaming '{}' to '{}' failed: {}", tmp, path, why);
  }
}

void require_regular_file(const std::string& path, std::string_view op) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  GL_CHECK(!ec && std::filesystem::exists(status), "{}: cannot read '{}': {}", op, path,
           ec ? ec.message() : std::string("no such file"));
  GL_CHECK(std::filesystem::is_regular_file(status), "{}: cannot read '{}': not a regular file ({})", op, path,
           std::filesystem::is_directory(status) ? "a directory"
           : std::filesystem::is_fifo(status)    ? "a named pipe"
                                                 : "a device or socket");
}

void make_directories(const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  GL_CHECK(!ec, "make_directories: cannot create '{}': {}", path, ec.message());
}

}  // namespace gradlab
