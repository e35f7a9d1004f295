// The experiment runner behind every paper's benchmark binary and behind
// `make reproduce`: M methods x S seeds run on the cores the binary is given
// (one run per worker thread, one OpenMP thread inside each run), then each
// metric is aggregated across seeds as a mean with a 95% confidence interval
// (Student t), printed as a table, written as CSV and JSONL, learning curves
// are plotted to PNG with gnuplot (a text table when gnuplot is missing), and
// each claim of the paper is recorded with a plain verdict in claims.tsv,
// which `make reproduce` gathers into its summary table.
//
//   Cli cli("rl_baselines", "PPO, SAC and TD3 on classic control");
//   ExperimentFlags flags(cli, /*full_seeds=*/5, /*quick_seeds=*/3);
//   cli.parse(argc, argv);
//   Experiment ex("rl_baselines", flags);
//   ex.add("ppo/CartPole-v1", [&](const RunContext& run) {
//     RunResult r;
//     ... train with run.seed, at run.budget (smoke, quick or full) ...
//     r.curve("eval_return", env_steps, ret);   // any number of points
//     r.metric("eval_return", final_return);
//     return r;
//   });
//   ex.run();                               // all methods x seeds, with progress
//   ex.report({"eval_return", "seconds"});  // table + CSV + JSONL + plots
//   ex.claim("PPO solves CartPole-v1", ok, "4/5 seeds reach 475");
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "bench/common/cli.h"
#include "tensor/dtype.h"
#include "tensor/random.h"

namespace gradlab::bench {

// How much compute a run gets: --smoke (seconds, for `make test`), --quick
// (the `make reproduce` budget) or full (the default, for headline tables).
enum class Budget { smoke, quick, full };
const char* budget_name(Budget b);
// The value for budget b: full, quick or smoke (RunContext::pick for a run).
int64_t by_budget(Budget b, int64_t full, int64_t quick, int64_t smoke);

// The flags every experiment binary takes (README.md "Experiments"): --threads, --seed,
// --seeds, --jsonl, --quick, --smoke, --out, --device. The fields are the
// command line (Cli::bind): declare before cli.parse(), keep this object where
// it is until then (it is neither copied nor moved); the Experiment made after
// it writes every flag's value to OUT/flags.txt. Without --out, results go to
// results/NAME under the current directory (a temporary folder for --smoke, so
// `make test` leaves nothing behind).
struct ExperimentFlags {
  ExperimentFlags(Cli& cli, int full_seeds, int quick_seeds);
  ExperimentFlags(const ExperimentFlags&) = delete;
  ExperimentFlags& operator=(const ExperimentFlags&) = delete;
  Budget budget() const;
  int seed_count() const;  // --seeds if given, else by budget (smoke: 1)
  int64_t threads;         // worker threads (default: the machine's cores)
  int64_t seed = 1;
  int64_t seeds = 0;  // 0: by budget
  std::string jsonl;
  bool quick = false;
  bool smoke = false;
  std::string out;
  // Where the runs' models, optimiser state and buffers live (environments
  // step on the CPU).
  Device device = Device::cpu;
  int full_seeds, quick_seeds;
  const Cli* cli;  // every flag of the binary, for the run's provenance (OUT/flags.txt)
};

// What a run function is told.
struct RunContext {
  std::string method;
  int seed_index = 0;  // 0 .. seeds-1
  uint64_t seed = 0;   // --seed + seed_index: seed every generator from it
  Budget budget = Budget::full;
  Device device = Device::cpu;  // --device: where the run's tensors live
  // One random stream of the run: Generator(seed).fork(k), with k a constant
  // that names the stream's role (data, prompts, evaluation, ...). Streams of
  // different k are independent, and a stream does not depend on what the
  // others have drawn. stream_seed(k) is its seed, for what takes a plain
  // seed (an algorithm's constructor).
  Generator stream(uint64_t k) const { return Generator(seed).fork(k); }
  uint64_t stream_seed(uint64_t k) const { return derive_seed(seed, k); }
  // Scales a step count by budget: full as given, quick and smoke by the
  // caller's choice (e.g. run.pick(500000, 100000, 2000)).
  int64_t pick(int64_t full, int64_t quick, int64_t smoke) const;
};

// What a run returns: named scalar metrics (the final figures) and named
// curves of (x, y) points (e.g. eval_return against environment steps).
struct RunResult {
  std::map<std::string, double> metrics;
  std::map<std::string, std::vector<std::pair<double, double>>> curves;
  void metric(const std::string& name, double value) { metrics[name] = value; }
  void curve(const std::string& name, double x, double y) { curves[name].emplace_back(x, y); }
};

using RunFn = std::function<RunResult(const RunContext&)>;

// Mean and 95% confidence half-width (Student t, n-1 degrees of freedom) of
// the values; ci95 is 0 for a single value.
struct Stat {
  double mean = 0, ci95 = 0, min = 0, max = 0;
  int n = 0;
  std::vector<double> values;
};
Stat stat_of(const std::vector<double>& values);
// The two-sided 97.5% quantile of Student's t with dof degrees of freedom.
double t_quantile_975(int dof);

// The one verdict rule for a paper's claim that A beats B, from the per-seed
// paired differences A - B oriented so that the paper predicts a positive
// value (a "lower is better" claim passes B - A):
//   reproduced       the 95% interval of the mean difference lies above zero
//   not reproduced   it lies below zero (the data go against the paper)
//   not established  it spans zero, or there are fewer than two seeds
enum class Verdict { reproduced, not_established, not_reproduced };
const char* verdict_name(Verdict v);  // "reproduced", "not established", "not reproduced"
Verdict paired_verdict(const Stat& paired_difference);
// A claim made of several parts, each with its verdict: reproduced when every
// part is, not reproduced when any part is, else not established.
Verdict all_of(const std::vector<Verdict>& parts);
// A claim that at least `need` of the parts hold ("on most tasks"): reproduced
// when at least `need` parts are reproduced, not reproduced when so many parts
// are not reproduced that `need` can no longer be met, else not established.
Verdict at_least(const std::vector<Verdict>& parts, size_t need);
// The per-seed values minus a threshold: the verdict of "the value exceeds t".
std::vector<double> minus(const std::vector<double>& values, double t);
// y at x of the piecewise-linear curve through pts (sorted by x, at least
// one point), held constant beyond its ends.
double interpolate(const std::vector<std::pair<double, double>>& pts, double x);
// The paired differences a[i] - b[i] (equal lengths).
std::vector<double> paired_differences(const std::vector<double>& a, const std::vector<double>& b);

class Experiment {
 public:
  Experiment(std::string bench_name, const ExperimentFlags& flags);

  // Registers a method (the JSONL "case", e.g. "ppo/CartPole-v1"). Tables and
  // files list methods in registration order; the first run of each method
  // starts in that order too (run() then starts the longest-expected runs
  // first). A method may be registered only once.
  void add(const std::string& method, RunFn fn);

  // Registers work that methods share per seed (typically a SeedCache's
  // build: `ex.prepare("SFT policy", [&](const RunContext& run) { cache.get(run); })`).
  // run() starts it for every seed as jobs of their own, ahead of the
  // methods, in registration order: the assets of different seeds build side
  // by side instead of one worker building while the others wait at the
  // cache. A build must depend only on the seed (never on which method asks),
  // so the runs' results do not change; run.method is "prepare:WHAT".
  void prepare(const std::string& what, std::function<void(const RunContext&)> fn);

  // Runs every prepare() x seed, then every method x seed, on --threads
  // worker threads in the order of JobQueue (job_queue.h: after each
  // method's first run, the longest expected first, so no worker idles at
  // the end while another finishes a long run), printing one progress line
  // per finished job to stderr
  // (with the elapsed time and an estimate of the time left). Each run's
  // wall-clock seconds become its "seconds" metric (a prepared asset's time
  // is not in it). A job that throws stops the experiment with the method,
  // seed and message (make reproduce then fails).
  void run();

  // The runs of one method, in seed order, and the aggregate of a metric.
  const std::vector<RunResult>& runs(const std::string& method) const;
  Stat stat(const std::string& method, const std::string& metric) const;
  // The values of a metric across seeds, in seed order.
  std::vector<double> values(const std::string& method, const std::string& metric) const;
  const std::vector<std::string>& methods() const { return order_; }

  // Prints a table (method x metric, "mean ± ci95 (n)") and writes, under
  // --out: runs.csv (method, seed, metric, value), summary.csv (method,
  // metric, mean, ci95, n, min, max), curves.csv (method, seed, curve, x, y)
  // and, per curve name, CURVE.png (mean and 95% band across seeds against x,
  // one line per method) via gnuplot, or CURVE.txt when gnuplot is missing.
  // With --jsonl, one record per method and metric with "seeds" and "ci95".
  // `metrics` empty: every metric seen. `extra_jsonl` adds fields to the
  // record of (method, metric), e.g. {{"ppo/CartPole-v1", "eval_return"}, {{"solved_seeds", 4}}}.
  using ExtraFields = std::map<std::pair<std::string, std::string>, std::map<std::string, double>>;
  void report(const std::vector<std::string>& metrics = {}, const ExtraFields& extra_jsonl = {});

  // Plots y against x for one curve name with custom axis labels (report()
  // already plots every curve against its own x; use this for an extra view,
  // e.g. gold reward against sqrt(KL)). `methods` empty: all.
  void plot(const std::string& curve, const std::string& file_stem, const std::string& xlabel,
            const std::string& ylabel, const std::vector<std::string>& methods = {}) const;

  // Records a claim of the paper and whether it reproduced, with the measured
  // result in words: printed, appended to OUT/claims.tsv (experiment, claim,
  // result, reproduced yes/no, budget, verdict: "-" for a threshold claim), and a JSONL "claim_reproduced" record
  // (value 1 or 0) when --jsonl is set.
  void claim(const std::string& claim, bool reproduced, const std::string& result);
  // The same for a claim judged by the verdict rule (paired_verdict): the
  // verdict is printed, written in claims.tsv's "verdict" column and as the
  // JSONL record's "verdict" field (value 1 only when reproduced).
  void claim(const std::string& claim, Verdict verdict, const std::string& result);

  Budget budget() const { return budget_; }
  const std::string& out_dir() const { return out_; }

 private:
  std::string bench_, out_, jsonl_;
  Budget budget_;
  Device device_;
  int seeds_, threads_;
  uint64_t base_seed_;
  std::vector<std::string> order_;
  std::map<std::string, RunFn> fns_;
  std::vector<std::pair<std::string, std::function<void(const RunContext&)>>> prepares_;
  std::map<std::string, std::vector<RunResult>> results_;
  std::vector<std::vector<std::string>> claims_;  // rows of claims.tsv
  void record_claim(const std::string& claim, bool reproduced, const std::string& verdict, const std::string& result);
};

// Formats "mean ± ci" with `decimals` digits.
std::string format_stat(const Stat& s, int decimals = 2);

}  // namespace gradlab::bench
