// The experiment runner: methods x seeds on worker threads, aggregation with
// Student-t confidence intervals, tables, CSV, JSONL, gnuplot figures and the
// claims file that `make reproduce` summarises. See experiment.h.
#include "bench/common/experiment.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "bench/common/bench.h"
#include "bench/common/job_queue.h"
#include "tensor/atomic_file.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace gradlab::bench {

double interpolate(const std::vector<std::pair<double, double>>& pts, double x) {
  if (x <= pts.front().first) return pts.front().second;
  if (x >= pts.back().first) return pts.back().second;
  auto hi = std::lower_bound(pts.begin(), pts.end(), x,
                             [](const std::pair<double, double>& p, double v) { return p.first < v; });
  auto lo = hi - 1;
  const double w = (x - lo->first) / (hi->first - lo->first);
  return lo->second + w * (hi->second - lo->second);
}

const char* budget_name(Budget b) {
  switch (b) {
    case Budget::smoke: return "smoke";
    case Budget::quick: return "quick";
    case Budget::full: return "full";
  }
  return "?";
}

ExperimentFlags::ExperimentFlags(Cli& cli, int full_seeds_, int quick_seeds_)
    : threads(std::max(1u, std::thread::hardware_concurrency())),
      full_seeds(full_seeds_),
      quick_seeds(quick_seeds_),
      cli(&cli) {
  cli.bind(threads, "--threads", "worker threads: runs (method x seed) execute in parallel, one per thread",
           kThreadBounds);
  cli.bind(seed, "--seed", "seed of the first run; run i uses seed + i");
  cli.bind(seeds, "--seeds", "seeds per method (0: by budget)", {0, 1000});
  cli.bind(jsonl, "--jsonl", "append one JSON record per method and metric to this file");
  cli.bind_flag(quick, "--quick", "the reduced budget `make reproduce` uses");
  cli.bind_flag(smoke, "--smoke", "a few seconds: one seed, a handful of steps (make test)");
  cli.bind(out, "--out", "output folder (default results/NAME; a temporary folder with --smoke)");
  cli.bind(device, "--device", "where models and their state live: cpu, cuda (a CUDA build with a GPU) or ref");
}

Budget ExperimentFlags::budget() const { return smoke ? Budget::smoke : quick ? Budget::quick : Budget::full; }

int ExperimentFlags::seed_count() const {
  if (seeds > 0) return int(seeds);
  switch (budget()) {
    case Budget::smoke: return 1;
    case Budget::quick: return quick_seeds;
    case Budget::full: return full_seeds;
  }
  return 1;
}

int64_t by_budget(Budget b, int64_t full, int64_t quick, int64_t smoke) {
  return b == Budget::full ? full : b == Budget::quick ? quick : smoke;
}

int64_t RunContext::pick(int64_t full, int64_t quick, int64_t smoke) const {
  return by_budget(budget, full, quick, smoke);
}

double t_quantile_975(int dof) {
  static const double table[30] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                   2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                   2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  GL_CHECK(dof >= 1, "t_quantile_975: degrees of freedom must be at least 1, got {}", dof);
  if (dof <= 30) return table[dof - 1];
  // Cornish-Fisher expansion of the t quantile around the normal one.
  const double z = 1.959964, n = dof;
  return z + (z * z * z + z) / (4 * n) + (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * n * n);
}

Stat stat_of(const std::vector<double>& values) {
  Stat s;
  s.values = values;
  s.n = int(values.size());
  if (s.n == 0) return s;
  s.min = *std::min_element(values.begin(), values.end());
  s.max = *std::max_element(values.begin(), values.end());
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / s.n;
  if (s.n > 1) {
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    const double sd = std::sqrt(ss / (s.n - 1));
    s.ci95 = t_quantile_975(s.n - 1) * sd / std::sqrt(double(s.n));
  }
  return s;
}

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::reproduced: return "reproduced";
    case Verdict::not_established: return "not established";
    case Verdict::not_reproduced: return "not reproduced";
  }
  fail("verdict_name: unknown verdict {}", int(v));
}

Verdict paired_verdict(const Stat& d) {
  GL_CHECK(std::isfinite(d.mean) && std::isfinite(d.ci95), "paired_verdict: non-finite difference {} ± {}", d.mean,
           d.ci95);
  if (d.n < 2) return Verdict::not_established;  // one seed has no interval
  if (d.mean - d.ci95 > 0) return Verdict::reproduced;
  if (d.mean + d.ci95 < 0) return Verdict::not_reproduced;
  return Verdict::not_established;
}

Verdict all_of(const std::vector<Verdict>& parts) {
  GL_CHECK(!parts.empty(), "all_of: no verdicts");
  bool all = true;
  for (Verdict v : parts) {
    if (v == Verdict::not_reproduced) return Verdict::not_reproduced;
    all = all && v == Verdict::reproduced;
  }
  return all ? Verdict::reproduced : Verdict::not_established;
}

Verdict at_least(const std::vector<Verdict>& parts, size_t need) {
  GL_CHECK(need >= 1 && need <= parts.size(), "at_least: need {} of {} verdicts", need, parts.size());
  size_t yes = 0, no = 0;
  for (Verdict v : parts) {
    yes += v == Verdict::reproduced;
    no += v == Verdict::not_reproduced;
  }
  if (yes >= need) return Verdict::reproduced;
  if (parts.size() - no < need) return Verdict::not_reproduced;
  return Verdict::not_established;
}

std::vector<double> minus(const std::vector<double>& values, double t) {
  std::vector<double> out;
  for (double v : values) out.push_back(v - t);
  return out;
}

std::vector<double> paired_differences(const std::vector<double>& a, const std::vector<double>& b) {
  GL_CHECK(a.size() == b.size(), "paired_differences: {} values against {}", a.size(), b.size());
  std::vector<double> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  return d;
}

namespace {

int decimals_for(double v) {
  const double a = std::fabs(v);
  return a >= 100 ? 1 : a >= 1 ? 2 : 3;
}

std::string number(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : std::string("nan"); }

// A CSV cell: quoted when it holds a comma or a quote.
std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string safe_file_stem(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return s;
}

bool have_gnuplot() {
  static const bool found = std::system("command -v gnuplot >/dev/null 2>&1") == 0;
  return found;
}

// Mean and 95% band across seeds of one method's curve, on a common x grid:
// the seeds' own x values when they all agree, else 60 evenly spaced points.
struct Band {
  std::vector<double> x, mean, lo, hi;
};
Band band_of(std::vector<std::vector<std::pair<double, double>>> seeds) {
  Band b;
  seeds.erase(std::remove_if(seeds.begin(), seeds.end(), [](const auto& c) { return c.empty(); }), seeds.end());
  if (seeds.empty()) return b;
  for (auto& c : seeds) std::stable_sort(c.begin(), c.end(), [](auto& p, auto& q) { return p.first < q.first; });
  bool same_x = true;
  for (const auto& c : seeds) {
    if (c.size() != seeds[0].size()) same_x = false;
    for (size_t i = 0; same_x && i < c.size(); ++i) same_x = c[i].first == seeds[0][i].first;
  }
  if (same_x) {
    for (const auto& p : seeds[0]) b.x.push_back(p.first);
  } else {
    double x0 = seeds[0].front().first, x1 = seeds[0].back().first;
    for (const auto& c : seeds) x0 = std::min(x0, c.front().first), x1 = std::max(x1, c.back().first);
    const int n = 60;
    for (int i = 0; i < n; ++i) b.x.push_back(x0 + (x1 - x0) * i / (n - 1));
  }
  for (double x : b.x) {
    std::vector<double> ys;
    for (const auto& c : seeds) ys.push_back(interpolate(c, x));
    const Stat s = stat_of(ys);
    b.mean.push_back(s.mean);
    b.lo.push_back(s.mean - s.ci95);
    b.hi.push_back(s.mean + s.ci95);
  }
  return b;
}

std::string gnuplot_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

}  // namespace

std::string format_stat(const Stat& s, int decimals) {
  if (s.n == 0) return "-";
  if (!std::isfinite(s.mean)) return "nan";
  if (decimals < 0) decimals = decimals_for(s.mean);
  if (s.n == 1) return fmt::format("{:.{}f}", s.mean, decimals);
  return fmt::format("{:.{}f} ± {:.{}f}", s.mean, decimals, s.ci95, decimals);
}

Experiment::Experiment(std::string bench_name, const ExperimentFlags& flags)
    : bench_(std::move(bench_name)),
      out_(flags.out),
      jsonl_(flags.jsonl),
      budget_(flags.budget()),
      device_(flags.device),
      seeds_(flags.seed_count()),
      threads_(int(std::max<int64_t>(1, flags.threads))),
      base_seed_(uint64_t(flags.seed)) {
  GL_CHECK(flags.seeds >= 0, "{}: --seeds must be 0 (by budget) or positive, got {}", bench_, flags.seeds);
  GL_CHECK(flags.threads >= 1, "{}: --threads must be at least 1, got {}", bench_, flags.threads);
  GL_CHECK(seeds_ >= 1, "{}: --seeds must be at least 1", bench_);
  if (out_.empty()) {
    out_ = budget_ == Budget::smoke
               ? (std::filesystem::temp_directory_path() / fmt::format("gradlab-smoke-{}", bench_)).string()
               : "results/" + bench_;
  }
  make_directories(out_);
  // Outputs are checked before the work: a --jsonl that cannot be written fails now, not after the runs.
  Jsonl probe(jsonl_);
  // Provenance: the binary and every flag's value, defaults included, as a command that repeats the run.
  write_file_atomic(out_ + "/flags.txt", fmt::format("{} {}\n", bench_, flags.cli->command_line()));
}

void Experiment::add(const std::string& method, RunFn fn) {
  GL_CHECK(!fns_.count(method), "{}: method '{}' registered twice", bench_, method);
  order_.push_back(method);
  fns_[method] = std::move(fn);
}

void Experiment::prepare(const std::string& what, std::function<void(const RunContext&)> fn) {
  GL_CHECK(fn != nullptr, "{}: prepare('{}'): no function", bench_, what);
  prepares_.emplace_back(what, std::move(fn));
}

void Experiment::run() {
  // A job is a run (method x seed) or a preparation (prepare() x seed, ahead of the runs).
  struct Job {
    std::string method;
    int seed_index;
    int prepare = -1;  // index into prepares_, or -1 for a run
  };
  std::vector<Job> jobs;
  for (int p = 0; !order_.empty() && p < int(prepares_.size()); ++p)  // nothing to prepare for no runs
    for (int s = 0; s < seeds_; ++s) jobs.push_back({"prepare:" + prepares_[size_t(p)].first, s, p});
  for (int s = 0; s < seeds_; ++s)
    for (const auto& m : order_) jobs.push_back({m, s});
  for (const auto& m : order_) results_[m].assign(size_t(seeds_), RunResult{});
  const size_t runs_total = order_.size() * size_t(seeds_);
  const int workers = std::max(1, std::min<int>(threads_, int(runs_total)));
  const int omp_threads = std::max(1, threads_ / workers);
  fmt::print(stderr, "[{}] {} methods x {} seeds at the {} budget on {} worker thread{}\n", bench_, order_.size(),
             seeds_, budget_name(budget_), workers, workers == 1 ? "" : "s");

  JobQueue queue([&] {
    std::vector<JobQueue::Job> q;
    for (const Job& job : jobs) q.push_back({job.method, job.prepare >= 0});
    return q;
  }());
  bool failed = false;
  std::mutex mu;        // the queue, the results, `failed` and the progress lines
  size_t finished = 0;  // jobs of either kind
  size_t runs_finished = 0;
  std::string error;
  const auto t_start = std::chrono::steady_clock::now();
  auto take = [&]() -> std::optional<size_t> {
    std::lock_guard<std::mutex> lock(mu);
    if (failed) return std::nullopt;
    return queue.next();
  };
  auto worker = [&] {
    omp_set_num_threads(omp_threads);
    for (std::optional<size_t> j; (j = take());) {
      const Job& job = jobs[*j];
      RunContext ctx;
      ctx.method = job.method;
      ctx.seed_index = job.seed_index;
      ctx.seed = base_seed_ + uint64_t(job.seed_index);
      ctx.budget = budget_;
      ctx.device = device_;
      manual_seed(ctx.seed);
      const auto t0 = std::chrono::steady_clock::now();
      try {
        RunResult r;
        if (job.prepare >= 0)
          prepares_[size_t(job.prepare)].second(ctx);
        else
          r = fns_.at(job.method)(ctx);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::lock_guard<std::mutex> lock(mu);
        ++finished;
        queue.finished(*j, secs);
        const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
        // The estimate shares the remaining jobs' expected seconds (by method,
        // from its finished runs) among the workers; it firms up as runs finish.
        const std::string eta =
            finished == jobs.size() ? "" : fmt::format(", about {:.0f} s left", queue.seconds_left() / double(workers));
        if (job.prepare >= 0) {
          fmt::print(stderr, "[{}] prepared {} for seed {} in {:.1f} s ({:.0f} s elapsed{})\n", bench_,
                     prepares_[size_t(job.prepare)].first, ctx.seed, secs, total, eta);
          continue;
        }
        if (!r.metrics.count("seconds")) r.metric("seconds", secs);
        results_[job.method][size_t(job.seed_index)] = std::move(r);
        ++runs_finished;
        fmt::print(stderr, "[{}] {} seed {} done in {:.1f} s ({}/{} runs, {:.0f} s elapsed{})\n", bench_, job.method,
                   ctx.seed, secs, runs_finished, runs_total, total, eta);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failed)
          error = job.prepare >= 0
                      ? fmt::format("{}: preparing {} for seed {} failed: {}", bench_,
                                    prepares_[size_t(job.prepare)].first, ctx.seed, e.what())
                      : fmt::format("{}: method '{}' seed {} failed: {}", bench_, job.method, ctx.seed, e.what());
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (failed) throw Error(error);
}

const std::vector<RunResult>& Experiment::runs(const std::string& method) const {
  auto it = results_.find(method);
  GL_CHECK(it != results_.end(), "{}: no runs of method '{}' (run() not called, or an unknown method)", bench_, method);
  return it->second;
}

std::vector<double> Experiment::values(const std::string& method, const std::string& metric) const {
  std::vector<double> v;
  for (const auto& r : runs(method)) {
    auto it = r.metrics.find(metric);
    if (it != r.metrics.end()) v.push_back(it->second);
  }
  return v;
}

Stat Experiment::stat(const std::string& method, const std::string& metric) const {
  return stat_of(values(method, metric));
}

void Experiment::report(const std::vector<std::string>& metrics_in, const ExtraFields& extra_jsonl) {
  // The metrics to show: as given, or every one seen (seconds last).
  std::vector<std::string> metrics = metrics_in;
  if (metrics.empty()) {
    std::set<std::string> seen;
    for (const auto& m : order_)
      for (const auto& r : runs(m))
        for (const auto& [k, v] : r.metrics) seen.insert(k);
    for (const auto& k : seen)
      if (k != "seconds") metrics.push_back(k);
    if (seen.count("seconds")) metrics.push_back("seconds");
  }

  // Table: one row per method, "mean ± ci95" per metric.
  std::vector<std::string> header = {"method", "seeds"};
  header.insert(header.end(), metrics.begin(), metrics.end());
  Table table(header);
  std::string runs_csv = "method,seed,metric,value\n", summary_csv = "method,metric,mean,ci95,n,min,max\n";
  Jsonl jsonl(jsonl_);
  for (const auto& m : order_) {
    std::vector<std::string> row = {m, std::to_string(runs(m).size())};
    for (const auto& metric : metrics) {
      const Stat s = stat(m, metric);
      row.push_back(format_stat(s, -1));
      if (s.n == 0) continue;
      summary_csv += fmt::format("{},{},{},{},{},{},{}\n", csv_cell(m), csv_cell(metric), number(s.mean),
                                 number(s.ci95), s.n, number(s.min), number(s.max));
      if (jsonl.enabled() && std::isfinite(s.mean)) {
        Jsonl::Record rec;
        rec.bench = bench_;
        rec.case_name = m;
        rec.metric = metric;
        rec.value = s.mean;
        rec.threads = threads_;
        if (metric == "seconds") rec.unit = "s";
        rec.extra["budget"] = budget_name(budget_);
        rec.extra["device"] = std::string(device_name(device_));
        rec.numbers["seeds"] = s.n;
        rec.numbers["ci95"] = s.ci95;
        auto extra = extra_jsonl.find({m, metric});
        if (extra != extra_jsonl.end())
          for (const auto& [k, v] : extra->second) rec.numbers[k] = v;
        jsonl.write(rec);
      }
    }
    table.row(row);
    for (size_t i = 0; i < runs(m).size(); ++i)
      for (const auto& [k, v] : runs(m)[i].metrics)
        runs_csv += fmt::format("{},{},{},{}\n", csv_cell(m), base_seed_ + i, csv_cell(k), number(v));
  }
  fmt::print("\n{} ({} budget, mean ± 95% CI over seeds)\n{}\n", bench_, budget_name(budget_), table.str());
  write_file_atomic(out_ + "/runs.csv", runs_csv);
  write_file_atomic(out_ + "/summary.csv", summary_csv);

  // Curves: every point of every run, then one figure per curve name.
  std::string curves_csv = "method,seed,curve,x,y\n";
  std::set<std::string> curve_names;
  for (const auto& m : order_)
    for (size_t i = 0; i < runs(m).size(); ++i)
      for (const auto& [name, pts] : runs(m)[i].curves) {
        curve_names.insert(name);
        for (const auto& [x, y] : pts)
          curves_csv +=
              fmt::format("{},{},{},{},{}\n", csv_cell(m), base_seed_ + i, csv_cell(name), number(x), number(y));
      }
  write_file_atomic(out_ + "/curves.csv", curves_csv);
  for (const auto& name : curve_names) plot(name, safe_file_stem(name), "x", name);
  fmt::print("results written to {}/ (runs.csv, summary.csv, curves.csv{})\n", out_,
             curve_names.empty() ? ""
             : have_gnuplot()    ? ", *.png"
                                 : ", *.txt");
}

void Experiment::plot(const std::string& curve, const std::string& file_stem, const std::string& xlabel,
                      const std::string& ylabel, const std::vector<std::string>& methods_in) const {
  const std::vector<std::string>& methods = methods_in.empty() ? order_ : methods_in;
  std::vector<std::pair<std::string, Band>> bands;
  for (const auto& m : methods) {
    std::vector<std::vector<std::pair<double, double>>> per_seed;
    for (const auto& r : runs(m)) {
      auto it = r.curves.find(curve);
      per_seed.push_back(it == r.curves.end() ? std::vector<std::pair<double, double>>{} : it->second);
    }
    Band b = band_of(per_seed);
    if (!b.x.empty()) bands.emplace_back(m, std::move(b));
  }
  if (bands.empty()) return;

  // The data: one block per method (x, mean, lo, hi), blocks separated by two blank lines.
  std::string data;
  for (const auto& [m, b] : bands) {
    data += "# " + m + "\n";
    for (size_t i = 0; i < b.x.size(); ++i)
      data += fmt::format("{} {} {} {}\n", number(b.x[i]), number(b.mean[i]), number(b.lo[i]), number(b.hi[i]));
    data += "\n\n";
  }
  const std::string dat = out_ + "/" + file_stem + ".dat";
  write_file_atomic(dat, data);

  if (!have_gnuplot()) {
    std::string txt = fmt::format("{}: {} against {} (mean [95% band] over seeds)\n", bench_, ylabel, xlabel);
    for (const auto& [m, b] : bands) {
      txt += m + "\n";
      const size_t step = std::max<size_t>(1, b.x.size() / 20);
      for (size_t i = 0; i < b.x.size(); i += step)
        txt += fmt::format("  {:>12.6g}  {:>12.6g}  [{:.6g}, {:.6g}]\n", b.x[i], b.mean[i], b.lo[i], b.hi[i]);
    }
    write_file_atomic(out_ + "/" + file_stem + ".txt", txt);
    return;
  }
  // The script names its files relative to its own folder and runs there, so
  // that a results folder can be moved (into bench/results/, say) and redrawn.
  const std::string png = out_ + "/" + file_stem + ".png";
  // Steps in the tens of thousands read as 20k, 40k: plain numbers that long run into each other.
  double x_max = 0;
  for (const auto& [m, b] : bands)
    for (const double x : b.x) x_max = std::max(x_max, std::abs(x));
  std::string script = fmt::format(
      "set terminal pngcairo size 900,560 noenhanced\nset output {}\nset title {}\nset xlabel {}\nset ylabel {}\n"
      "set key below\n{}set grid\nset style fill transparent solid 0.18 noborder\nplot ",
      gnuplot_quote(file_stem + ".png.tmp"), gnuplot_quote(bench_ + ": " + ylabel + " (mean and 95% band over seeds)"),
      gnuplot_quote(xlabel), gnuplot_quote(ylabel), x_max >= 1e4 ? "set format x '%.0s%c'\n" : "");
  for (size_t i = 0; i < bands.size(); ++i) {
    if (i) script += ", ";
    script += fmt::format(
        "{0} index {1} using 1:3:4 with filledcurves lc {2} notitle, "
        "{0} index {1} using 1:2 with lines lw 2 lc {2} title {3}",
        gnuplot_quote(file_stem + ".dat"), i, i + 1, gnuplot_quote(bands[i].first));
  }
  script += "\n";
  const std::string gp = out_ + "/" + file_stem + ".gp";
  write_file_atomic(gp, script);
  const std::string cmd =
      fmt::format("cd {} && gnuplot {} 2>/dev/null", shell_quote(out_), shell_quote(file_stem + ".gp"));
  if (std::system(cmd.c_str()) == 0) {
    std::filesystem::rename(png + ".tmp", png);
  } else {
    fmt::print(stderr, "[{}] gnuplot could not draw {} (the data is in {})\n", bench_, png, dat);
  }
}

void Experiment::claim(const std::string& claim_text, bool reproduced, const std::string& result) {
  record_claim(claim_text, reproduced, "", result);
}

void Experiment::claim(const std::string& claim_text, Verdict verdict, const std::string& result) {
  record_claim(claim_text, verdict == Verdict::reproduced, verdict_name(verdict), result);
}

void Experiment::record_claim(const std::string& claim_text, bool reproduced, const std::string& verdict,
                              const std::string& result) {
  fmt::print("claim: {}\n  result: {}\n  {}: {} ({} budget)\n", claim_text, result,
             verdict.empty() ? "reproduced" : "verdict", verdict.empty() ? (reproduced ? "yes" : "NO") : verdict,
             budget_name(budget_));
  auto clean = [](std::string s) {
    for (char& c : s)
      if (c == '\t' || c == '\n') c = ' ';
    return s;
  };
  claims_.push_back({bench_, clean(claim_text), clean(result), reproduced ? "yes" : "no", budget_name(budget_),
                     verdict.empty() ? "-" : verdict});
  std::string tsv = "experiment\tclaim\tresult\treproduced\tbudget\tverdict\n";
  for (const auto& row : claims_) {
    for (size_t i = 0; i < row.size(); ++i) tsv += (i ? "\t" : "") + row[i];
    tsv += "\n";
  }
  write_file_atomic(out_ + "/claims.tsv", tsv);
  Jsonl jsonl(jsonl_);
  if (jsonl.enabled()) {
    Jsonl::Record rec;
    rec.bench = bench_;
    rec.case_name = claim_text;
    rec.metric = "claim_reproduced";
    rec.value = reproduced ? 1 : 0;
    rec.threads = threads_;
    rec.extra["result"] = result;
    rec.extra["budget"] = budget_name(budget_);
    if (!verdict.empty()) rec.extra["verdict"] = verdict;
    jsonl.write(rec);
  }
}

}  // namespace gradlab::bench
