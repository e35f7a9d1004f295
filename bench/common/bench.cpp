// Timing, JSONL, Python references, the FMA peak and tables for the benchmarks.
#include "bench/common/bench.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <omp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tensor/atomic_file.h"
#include "tensor/error.h"

namespace gradlab::bench {

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
}  // namespace

Timing summarize(std::vector<double> seconds) {
  GL_CHECK(!seconds.empty(), "summarize: no samples");
  std::sort(seconds.begin(), seconds.end());
  Timing t;
  t.min = seconds.front();
  t.max = seconds.back();
  const size_t n = seconds.size();
  t.median = n % 2 ? seconds[n / 2] : 0.5 * (seconds[n / 2 - 1] + seconds[n / 2]);
  t.per_call = std::move(seconds);
  return t;
}

Timing merge(const Timing& a, const Timing& b) {
  std::vector<double> all = a.per_call;
  all.insert(all.end(), b.per_call.begin(), b.per_call.end());
  Timing t = summarize(std::move(all));
  t.calls_per_sample = a.calls_per_sample;
  return t;
}

Timing time_it(const std::function<void()>& fn, int samples, double min_sample_seconds, int warmup) {
  for (int i = 0; i < warmup; ++i) fn();
  // Calibrate the repeat count from one timed call.
  const double t0 = now();
  fn();
  const double one = std::max(now() - t0, 1e-9);
  const int calls = std::max(1, int(min_sample_seconds / one));
  std::vector<double> per_call;
  for (int s = 0; s < samples; ++s) {
    const double start = now();
    for (int c = 0; c < calls; ++c) fn();
    per_call.push_back((now() - start) / calls);
  }
  Timing t = summarize(per_call);
  t.calls_per_sample = calls;
  return t;
}

Jsonl::Jsonl(const std::string& path) : path_(path) {
  if (!path_.empty()) {
    const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    std::error_code ec;
    if (!parent.empty() && !std::filesystem::exists(parent, ec))
      make_directories(parent.string());  // --jsonl runs/new/x.jsonl makes runs/new
    std::ofstream f(path_, std::ios::app);
    GL_CHECK(f.good(), "--jsonl: cannot write {}", path_);
  }
}

namespace {
// A JSON string: quotes and backslashes escaped, control characters (a newline in a claim's text) as \uXXXX.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", int(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A JSON number, or null for NaN and infinities (which JSON cannot spell).
std::string number(double v, int digits = 6) { return std::isfinite(v) ? fmt::format("{:.{}g}", v, digits) : "null"; }

// Cuts a torn last line (bytes after the final newline, left by a writer killed mid-write) off the file open
// on fd. Returns false, with errno set, when the file cannot be read or truncated.
bool cut_torn_tail(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  off_t end = st.st_size;
  char buf[4096];
  while (end > 0) {
    const off_t start = end > off_t(sizeof buf) ? end - off_t(sizeof buf) : 0;
    const ssize_t n = ::pread(fd, buf, size_t(end - start), start);
    if (n != ssize_t(end - start)) {
      if (n >= 0) errno = EIO;
      return false;
    }
    for (ssize_t i = n - 1; i >= 0; --i)
      if (buf[i] == '\n') {
        const off_t keep = start + i + 1;
        return keep == st.st_size || ::ftruncate(fd, keep) == 0;
      }
    end = start;
  }
  return st.st_size == 0 || ::ftruncate(fd, 0) == 0;
}
}  // namespace

void Jsonl::write(const Record& r) {
  if (path_.empty()) return;
  std::string line =
      fmt::format("{{\"bench\":{},\"case\":{},\"metric\":{},\"value\":{},\"unit\":{},\"threads\":{}", quoted(r.bench),
                  quoted(r.case_name), quoted(r.metric), number(r.value), quoted(r.unit), r.threads);
  if (!r.baseline.empty())
    line += fmt::format(",\"baseline\":{},\"baseline_value\":{},\"ratio\":{}", quoted(r.baseline),
                        number(r.baseline_value), number(r.baseline_value != 0 ? r.value / r.baseline_value : 0.0, 4));
  for (const auto& [k, v] : r.extra) line += fmt::format(",{}:{}", quoted(k), quoted(v));
  for (const auto& [k, v] : r.numbers) line += fmt::format(",{}:{}", quoted(k), number(v));
  line += "}\n";
  // Appends hold an exclusive lock, so lines from processes sharing the file never interleave. A writer killed
  // in the middle of its write(2) can leave a torn last line (Linux stops a write to a regular file at a page
  // boundary for a fatal signal); the next append cuts the file back to its last newline before writing.
  const int fd = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  GL_CHECK(fd >= 0, "--jsonl: cannot append to {}: {}", path_, std::strerror(errno));
  const auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);  // also releases the lock
    GL_CHECK(false, "--jsonl: {} {} failed: {}", what, path_, std::strerror(err));
  };
  while (::flock(fd, LOCK_EX) != 0)
    if (errno != EINTR) fail("locking");
  if (!cut_torn_tail(fd)) fail("repairing the last line of");
  for (size_t done = 0; done < line.size();) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      fail("appending to");
    }
    done += size_t(n);
  }
  ::close(fd);
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";  // close the quote, an escaped quote, reopen
    else
      out += c;
  }
  return out + "'";
}

std::optional<std::vector<std::string>> run_python(const std::string& script, const std::string& args, int threads,
                                                   std::string* why) {
  // Debian's python sees Debian's numpy and torch; GRADLAB_PYTHON names another
  // (a GPU machine's own python, say).
  const char* chosen = std::getenv("GRADLAB_PYTHON");
  const std::string python = chosen != nullptr && *chosen != 0 ? chosen : "/usr/bin/python3";
  if (access(python.c_str(), X_OK) != 0) {
    if (why) *why = python + " not found (set GRADLAB_PYTHON to a python3 with the reference's packages)";
    return std::nullopt;
  }
  const std::string path = repo_root() + "/" + script;
  // OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are preset on some machines (older
  // OpenBLAS builds misdetect their CPU); they force a slower kernel on a
  // current one, so the reference runs without them and reports the kernel
  // OpenBLAS chose (bench/pytorch/timing.py).
  const std::string cmd = fmt::format(
      "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "
      "OMP_NUM_THREADS={0} OPENBLAS_NUM_THREADS={0} MKL_NUM_THREADS={0} OMP_WAIT_POLICY=PASSIVE "
      "{1} {2} {3} 2>&1",
      threads, shell_quote(python), shell_quote(path), args);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    if (why) *why = "could not start python3";
    return std::nullopt;
  }
  std::vector<std::string> lines;
  std::array<char, 4096> buf{};
  std::string pending;
  while (fgets(buf.data(), int(buf.size()), pipe) != nullptr) {
    pending += buf.data();
    if (!pending.empty() && pending.back() == '\n') {
      pending.pop_back();
      lines.push_back(pending);
      pending.clear();
    }
  }
  if (!pending.empty()) lines.push_back(pending);
  const int status = pclose(pipe);
  if (status != 0) {
    if (why) *why = lines.empty() ? fmt::format("{} failed", script) : lines.back();
    return std::nullopt;
  }
  return lines;
}

std::optional<double> Reference::seconds(const std::string& case_name) const {
  auto it = median_seconds.find(case_name);
  if (it == median_seconds.end()) return std::nullopt;
  return it->second;
}

Reference run_reference(const std::string& script, const std::string& args, int threads) {
  Reference ref;
  const auto lines = run_python(script, args, threads, &ref.why);
  if (!lines) return ref;
  for (const std::string& line : *lines) {
    const auto name = json_string(line, "case");
    const auto median = json_number(line, "median");
    if (!name || !median) continue;
    ref.median_seconds[*name] = *median;
    ref.label = json_string(line, "label").value_or("reference");
    // The BLAS kernel joins the label, and so every JSONL record's "baseline".
    const std::string blas = json_string(line, "blas").value_or("");
    if (!blas.empty() && ref.label.find(blas) == std::string::npos) ref.label += "/" + blas;
  }
  ref.ok = !ref.median_seconds.empty();
  if (!ref.ok && ref.why.empty()) ref.why = script + " printed no results";
  return ref;
}

void add_comparison(std::vector<std::string>& row, Jsonl::Record& rec, double ours, std::optional<double> ref,
                    const std::string& label) {
  if (!ref) {
    row.push_back("-");
    row.push_back("-");
    return;
  }
  row.push_back(fmt::format("{:.1f}", *ref));
  row.push_back(fmt::format("{:.2f}x", ours / *ref));
  rec.baseline = label;
  rec.baseline_value = *ref;
}

void add_comparison_lower_is_better(std::vector<std::string>& row, Jsonl::Record& rec, double ours,
                                    std::optional<double> ref, const std::string& label, int decimals) {
  if (!ref) {
    row.push_back("-");
    row.push_back("-");
    return;
  }
  row.push_back(fmt::format("{:.{}f}", *ref, decimals));
  row.push_back(fmt::format("{:.2f}x", ours / *ref));
  rec.baseline = label;
  rec.baseline_value = *ref;
}

std::optional<double> json_number(const std::string& line, const std::string& key) {
  const std::string pat = "\"" + key + "\":";
  size_t at = line.find(pat);
  if (at == std::string::npos) return std::nullopt;
  at += pat.size();
  while (at < line.size() && line[at] == ' ') ++at;
  char* end = nullptr;
  const double v = std::strtod(line.c_str() + at, &end);
  if (end == line.c_str() + at) return std::nullopt;
  return v;
}

std::optional<std::string> json_string(const std::string& line, const std::string& key) {
  const std::string pat = "\"" + key + "\":";
  size_t at = line.find(pat);
  if (at == std::string::npos) return std::nullopt;
  at = line.find('"', at + pat.size());
  if (at == std::string::npos) return std::nullopt;
  const size_t end = line.find('"', at + 1);
  if (end == std::string::npos) return std::nullopt;
  return line.substr(at + 1, end - at - 1);
}

double measured_fma_peak_gflops(int threads) {
  // 12 independent chains of vector FMAs (enough to cover FMA latency on every
  // x86 core), in the widest registers this build's -march allows.
#if defined(__AVX512F__)
  typedef float vec __attribute__((vector_size(64)));
#elif defined(__AVX__)
  typedef float vec __attribute__((vector_size(32)));
#else
  typedef float vec __attribute__((vector_size(16)));
#endif
  constexpr int kLanes = int(sizeof(vec) / sizeof(float));
  constexpr int kChains = 12;
  constexpr long kIters = 20000000;
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {  // the best of five: a shared machine only ever slows it down
    const double start = now();
    float sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    {
      vec acc[kChains];
      for (int j = 0; j < kChains; ++j) acc[j] = vec{} + float(j) * 1e-3f;
      const vec a = vec{} + 0.9999f, b = vec{} + 1e-4f;
      for (long i = 0; i < kIters; ++i)
#pragma GCC unroll 12
        for (int j = 0; j < kChains; ++j) acc[j] = acc[j] * a + b;
      for (int j = 0; j < kChains; ++j) sink += acc[j][0];
    }
    const double secs = now() - start;
    best = std::max(best, double(threads) * kIters * kChains * kLanes * 2 / secs / 1e9);
    if (sink == 12345.f) std::puts("");  // keep the loop
  }
  return best;
}

std::string Table::str() const {
  std::vector<size_t> width(header_.size());
  for (size_t c = 0; c < header_.size(); ++c) width[c] = header_[c].size();
  for (const auto& r : rows_)
    for (size_t c = 0; c < r.size() && c < width.size(); ++c) width[c] = std::max(width[c], r[c].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < width.size(); ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      out += c == 0 ? pad_right(cell, width[c]) : "  " + pad_left(cell, width[c]);
    }
    return out + "\n";
  };
  std::string out = line(header_);
  size_t total = 0;
  for (size_t w : width) total += w + 2;
  out += std::string(total - 2, '-') + "\n";
  for (const auto& r : rows_) out += line(r);
  return out;
}

std::string pad_right(const std::string& s, size_t w) { return s.size() >= w ? s : s + std::string(w - s.size(), ' '); }
std::string pad_left(const std::string& s, size_t w) { return s.size() >= w ? s : std::string(w - s.size(), ' ') + s; }

std::string repo_root() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  for (std::filesystem::path p = exe.parent_path(); !ec && !p.empty() && p != p.root_path(); p = p.parent_path())
    if (std::filesystem::exists(p / "bench" / "pytorch")) return p.string();
  return ".";
}

}  // namespace gradlab::bench
