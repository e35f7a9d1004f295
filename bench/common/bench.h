// The shared machinery of gradlab's benchmarks (README.md "Benchmarks"):
// timing with warm-up and min/median/max over samples; JSONL records of
// {"bench", "case", "metric", "value", "unit", "threads"} plus a baseline and
// ratio when a reference was measured in the same run; running a Python
// reference script (Debian's python3, which sees python3-numpy and
// python3-torch, or $GRADLAB_PYTHON); the machine's measured FMA peak; aligned text tables.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gradlab::bench {

struct Timing {
  double min = 0, median = 0, max = 0;  // seconds per call
  int calls_per_sample = 1;
  std::vector<double> per_call;  // every sample, seconds per call
};

// Times fn: warm-up calls first, then `samples` samples, each repeating fn
// enough times to last at least min_sample_seconds.
Timing time_it(const std::function<void()>& fn, int samples = 7, double min_sample_seconds = 0.02, int warmup = 2);
// min/median/max of a list of per-call seconds.
Timing summarize(std::vector<double> seconds);
// The samples of two timings of the same thing taken at different moments,
// summarised together. Benchmarks time gradlab before and after the reference
// run, so that a slow spell of a shared machine weighs on both sides alike.
Timing merge(const Timing& a, const Timing& b);

// Appends one JSON object per line to a file. Writes nothing when the path is empty.
class Jsonl {
 public:
  explicit Jsonl(const std::string& path);
  struct Record {
    std::string bench{}, case_name{}, metric{};
    double value = 0;
    std::string unit{};
    int threads = 1;
    std::string baseline{};  // empty: no reference measured
    double baseline_value = 0;
    std::map<std::string, std::string> extra{};  // further string fields
    std::map<std::string, double> numbers{};     // further numeric fields
  };
  void write(const Record& r);
  bool enabled() const { return !path_.empty(); }

 private:
  std::string path_;
};

// s as one single-quoted word for /bin/sh.
std::string shell_quote(const std::string& s);

// Runs `python3 script args...` (/usr/bin/python3 or $GRADLAB_PYTHON) with OMP_NUM_THREADS and friends set to
// `threads`, OMP_WAIT_POLICY=PASSIVE and OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset, and returns its stdout lines;
// nullopt (with the reason in *why) when Python or the script's imports are missing.
std::optional<std::vector<std::string>> run_python(const std::string& script, const std::string& args, int threads,
                                                   std::string* why);
// The medians a reference script measured (its lines, as bench/pytorch/timing.py
// emits them: {"case", "label", "min", "median", "max"}), or why there are none.
struct Reference {
  bool ok = false;
  std::string label;                             // e.g. "numpy-openblas/openblas-Zen", "pytorch-1.13.0/openblas-Zen"
  std::map<std::string, double> median_seconds;  // per case
  std::string why;                               // when !ok
  std::optional<double> seconds(const std::string& case_name) const;
};
Reference run_reference(const std::string& script, const std::string& args, int threads);

// Appends the reference figure and our/reference ratio to a table row, and
// the baseline to the JSONL record, when the reference has this case; "-"
// cells otherwise. `ours` and `ref` are rates (higher is better).
void add_comparison(std::vector<std::string>& row, Jsonl::Record& rec, double ours, std::optional<double> ref,
                    const std::string& label);
// The same for a lower-is-better figure (a time, microseconds per op): the
// ratio is still ours / reference, as in the JSONL record, so here a ratio
// below 1 means gradlab is ahead (say so in the table header). The reference
// cell shows `decimals` digits after the point.
void add_comparison_lower_is_better(std::vector<std::string>& row, Jsonl::Record& rec, double ours,
                                    std::optional<double> ref, const std::string& label, int decimals = 2);

// Reads "key": number from a flat JSON line (the reference scripts print such lines).
std::optional<double> json_number(const std::string& line, const std::string& key);
std::optional<std::string> json_string(const std::string& line, const std::string& key);

// Measured f32 FMA peak of `threads` cores, in GFLOP/s (a register-only FMA loop).
double measured_fma_peak_gflops(int threads);

// A text table with right-aligned numeric columns.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  std::string str() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// s padded with spaces to width w, on the right (left-aligned) or the left.
std::string pad_right(const std::string& s, size_t w);
std::string pad_left(const std::string& s, size_t w);

// The directory holding bench/ (found from the executable's path), so that
// binaries find bench/pytorch/*.py wherever they are run from.
std::string repo_root();

}  // namespace gradlab::bench
