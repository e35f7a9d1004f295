// Atomic file writes for gradlab's logs, datasets and results: the content
// goes to a temporary file beside the target, is flushed and fsynced, then
// renamed over the target, so a killed run leaves the old file or the new
// one, never half of either. Also the check every reader makes first: that a
// path is a regular file.
#pragma once

#include <string>
#include <string_view>

namespace gradlab {

// Writes `content` to `path` atomically; throws gradlab::Error naming the
// path and the system's reason on failure (the temporary file is removed).
void write_file_atomic(const std::string& path, const std::string& content);

// The temporary file a save of `path` writes first: "PATH.tmp.PID.N", unique
// per process and per call (so two threads saving one path never share it).
// Before handing it out, removes the temporaries of `path` that processes no
// longer alive left behind (a save killed mid-write), so they never pile up.
std::string atomic_temp_path(const std::string& path);

// Before reading a file: throws "OP: cannot read 'PATH': ..." when it does
// not exist or is not a regular file (a directory, a named pipe whose open
// would wait forever for a writer, a device).
void require_regular_file(const std::string& path, std::string_view op);

// Creates a directory and its parents (like mkdir -p); throws on failure.
void make_directories(const std::string& path);

}  // namespace gradlab
