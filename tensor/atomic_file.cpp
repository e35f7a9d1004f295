// write_file_atomic: temporary file + fsync + rename, as documented in the header.
#include "tensor/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "tensor/error.h"

namespace gradlab {

void write_file_atomic(const std::string& path, const std::string& content) {
  GL_CHECK(!path.empty(), "write_file_atomic: empty path");
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
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

void make_directories(const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  GL_CHECK(!ec, "make_directories: cannot create '{}': {}", path, ec.message());
}

}  // namespace gradlab
