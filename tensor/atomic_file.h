// Atomic file writes for gradlab's logs, datasets and results: the content
// goes to a temporary file beside the target, is flushed and fsynced, then
// renamed over the target, so a killed run leaves the old file or the new
// one, never half of either.
#pragma once

#include <string>

namespace gradlab {

// Writes `content` to `path` atomically; throws gradlab::Error naming the
// path and the system's reason on failure (the temporary file is removed).
void write_file_atomic(const std::string& path, const std::string& content);

// Creates a directory and its parents (like mkdir -p); throws on failure.
void make_directories(const std::string& path);

}  // namespace gradlab
